import type { Redis } from 'ioredis';
import type { Contender } from '../contenders/contender';
import { interleave } from '../interleave';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario';
import { measureRedis, REDIS_COST_COLUMNS, REDIS_COST_METHOD } from '../redis-cost';
import { now } from '../stats';

export const CALLERS = 64;
export const KEYS = 10_000;

/**
 * 64 callers, each cycle on a random one of 10,000 keys, trying without waiting. `servers`: the
 * Redis servers whose work is measured (every master of a Cluster; S7 runs this too).
 */
export async function concurrentCycles(
  servers: readonly Redis[],
  contender: Contender,
  tag: string,
  durationMs: number,
) {
  const redis = await measureRedis(servers);
  let cycles = 0;
  let busy = 0;
  const start = now();
  const deadline = start + durationMs;
  const caller = async (): Promise<void> => {
    while (now() < deadline) {
      const release = await contender.acquire(`s2:${tag}:${(Math.random() * KEYS) | 0}`, 0);
      if (!release) {
        busy++;
        continue;
      }
      await release();
      cycles++;
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  const seconds = (now() - start) / 1000;
  return {
    cyclesPerSec: cycles / seconds,
    busyPct: (100 * busy) / Math.max(1, cycles + busy),
    ...(await redis.end(cycles)),
  };
}

export const s2: Scenario = {
  id: 'S2',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const durationMs = ctx.options.quick ? 150 : 200;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 3 : 15);
    const rows = await interleave(
      ctx,
      'S2',
      ctx.contenders,
      (c, round) => concurrentCycles([ctx.redis.admin], c, `${c.id}:${round}`, durationMs),
      {
        rounds,
        warmup: (c) =>
          concurrentCycles([ctx.redis.admin], c, `${c.id}:warm`, ctx.options.quick ? 100 : 300),
        timeoutMs: durationMs + 30_000,
        baselineId: 'floor',
      },
    );
    return {
      id: 'S2',
      title: `S2 — ${CALLERS} concurrent callers on ${KEYS.toLocaleString('en-US')} keys`,
      method: `${CALLERS} callers in one process; each cycle picks a random key of ${KEYS.toLocaleString('en-US')} and tries it without waiting (tryAcquire / retryCount 0 / one attempt); a key found held counts as "busy" and the caller moves on. cycles/s counts successful acquire + release cycles. ${rounds} rounds of ${durationMs} ms per contender, interleaved; medians over rounds. ${REDIS_COST_METHOD}`,
      columns: [
        { key: 'cyclesPerSec', label: 'cycles/s', digits: 0, ratio: true },
        { key: 'busyPct', label: 'busy %', digits: 2, ratio: false },
        ...REDIS_COST_COLUMNS,
      ],
      rows,
      baselineId: 'floor',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
