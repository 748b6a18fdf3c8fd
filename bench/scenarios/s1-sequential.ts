import type { Contender } from '../contenders/contender';
import { interleave } from '../interleave';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario';
import { pinToOneCpu } from '../affinity';
import { measureRedis, REDIS_COST_COLUMNS, REDIS_COST_METHOD } from '../redis-cost';
import { now, Samples } from '../stats';

/** Acquire + release, one after the other, each on a new key, for `durationMs`. */
async function sequentialCycles(
  ctx: BenchContext,
  contender: Contender,
  tag: string,
  durationMs: number,
) {
  const latencies = new Samples();
  const redis = await measureRedis([ctx.redis.admin]);
  const start = now();
  let end = start;
  for (let i = 0; end - start < durationMs; i++) {
    const t0 = now();
    const release = await contender.acquire(`s1:${tag}:${i}`, 1000);
    if (!release) throw new Error(`could not take the free key s1:${tag}:${i}`);
    await release();
    end = now();
    latencies.push(end - t0);
  }
  return {
    cyclesPerSec: latencies.count / ((end - start) / 1000),
    p50us: latencies.percentile(50) * 1000,
    p99us: latencies.percentile(99) * 1000,
    ...(await redis.end(latencies.count)),
  };
}

export const s1: Scenario = {
  id: 'S1',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    // Short runs, many rounds: the machine's speed drifts over seconds (a shared host), so
    // every contender must sample the same conditions.
    const durationMs = ctx.options.quick ? 150 : 200;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 3 : 15);
    // A lone caller and Redis ping-pong: unpinned, the scheduler puts them on one CPU or on two
    // at random, and on this kind of VM a cross-CPU wake-up costs more than the lock work, so
    // figures flip between two regimes. One shared CPU measures the work itself.
    const unpin = pinToOneCpu([process.pid, ctx.redis.pid]);
    let rows;
    try {
      rows = await interleave(
        ctx,
        'S1',
        ctx.contenders,
        (c, round) => sequentialCycles(ctx, c, `${c.id}:${round}`, durationMs),
        {
          rounds,
          warmup: (c) => sequentialCycles(ctx, c, `${c.id}:warm`, ctx.options.quick ? 100 : 300),
          timeoutMs: durationMs + 30_000,
          baselineId: 'floor',
        },
      );
    } finally {
      unpin?.();
    }
    return {
      id: 'S1',
      title: 'S1 — one caller, sequential acquire + release on distinct keys',
      method: `One caller; each cycle takes a lock on a new key (normal waiting acquire, never contended) and releases it. ${rounds} rounds of ${durationMs} ms per contender, interleaved; medians over rounds. Latency is of the whole cycle. ${unpin ? 'The bench process and redis-server share one CPU during S1 (taskset), so the figures measure the work per cycle rather than cross-CPU wake-ups.' : 'Not pinned to one CPU (taskset unavailable): expect noisy figures.'} ${REDIS_COST_METHOD}`,
      columns: [
        { key: 'cyclesPerSec', label: 'cycles/s', digits: 0, ratio: true },
        { key: 'p50us', label: 'p50 µs', digits: 0, ratio: true },
        { key: 'p99us', label: 'p99 µs', digits: 0, ratio: true },
        ...REDIS_COST_COLUMNS,
      ],
      rows,
      baselineId: 'floor',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
