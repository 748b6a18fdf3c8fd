import type { Contender } from '../contenders/contender';
import type { BenchContext, Row, Scenario, ScenarioReport } from '../scenario';
import { bounded } from '../interleave';
import { now, sleep } from '../stats';

const CONCURRENCY = 64;
const WARMUP_CYCLES = 10_000;
/** Heap growth below this is taken as noise, whatever the measured noise. */
const MIN_NOISE_BYTES = 1024 * 1024;

/** `count` acquire + release cycles by `CONCURRENCY` callers, each on a new key. */
async function cycles(contender: Contender, tag: string, count: number): Promise<number> {
  let next = 0;
  const start = now();
  const caller = async (): Promise<void> => {
    while (next < count) {
      const key = `s6:${tag}:${next++}`;
      const release = await contender.acquire(key, 1000);
      if (!release) throw new Error(`could not take the free key ${key}`);
      await release();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  return now() - start;
}

/** heapUsed after full collections, once timers and sockets have settled. */
async function settledHeap(): Promise<number> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run node with --expose-gc');
  for (let i = 0; i < 4; i++) {
    await sleep(20);
    gc();
  }
  return process.memoryUsage().heapUsed;
}

async function measure(ctx: BenchContext, contender: Contender, total: number) {
  await ctx.redis.flush();
  await cycles(contender, `${contender.id}:warm1`, WARMUP_CYCLES);
  const first = await settledHeap();
  await cycles(contender, `${contender.id}:warm2`, WARMUP_CYCLES);
  const before = await settledHeap();
  const ms = await cycles(contender, contender.id, total);
  const after = await settledHeap();
  const keysLeft = await ctx.redis.admin.dbsize();
  const redisMemory = await ctx.redis.usedMemory();
  const growth = after - before;
  const noise = Math.max(MIN_NOISE_BYTES, 3 * Math.abs(before - first));
  ctx.log(
    `S6 ${contender.name}: ${total} cycles in ${(ms / 1000).toFixed(1)} s, heap ${mib(before)} → ${mib(after)} MiB`,
  );
  return {
    heapBeforeMiB: before / 2 ** 20,
    heapAfterMiB: after / 2 ** 20,
    growthKiB: growth / 1024,
    noiseKiB: noise / 1024,
    pass: growth <= noise ? 1 : 0,
    seconds: ms / 1000,
    cyclesPerSec: total / (ms / 1000),
    keysLeft,
    redisMiB: redisMemory / 2 ** 20,
  };
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);

export const s6: Scenario = {
  id: 'S6',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const total = ctx.options.s6Cycles;
    const ids = ['lib', 'floor'];
    const rows: Row[] = [];
    for (const id of ids) {
      const contender = ctx.contenders.find((c) => c.id === id);
      if (!contender) continue;
      try {
        // Bounded: 0.5 ms a cycle (over 10 times the usual) plus a minute.
        const limitMs = 60_000 + total * 0.5;
        const values = await bounded(ctx, measure(ctx, contender, total), limitMs, `S6 ${id}`);
        rows.push({ contenderId: id, name: contender.name, values });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        rows.push({
          contenderId: id,
          name: contender.name,
          values: {},
          unavailable: `failed: ${reason}`,
        });
      }
    }
    await ctx.redis.flush();
    return {
      id: 'S6',
      title: `S6 — memory over ${total.toLocaleString('en-US')} acquire + release cycles`,
      method: `${CONCURRENCY} concurrent callers, every cycle on a new key. After 2 × ${WARMUP_CYCLES.toLocaleString('en-US')} warm-up cycles, forced GC (node --expose-gc) and heapUsed ("before"); then ${total.toLocaleString('en-US')} cycles, GC, heapUsed ("after"). Noise allowance = max(1 MiB, 3 × the heap change between the two warm-up batches); "no growth" passes when after − before ≤ that. Redis keys left / used_memory: DBSIZE and INFO memory right after the run (every lock was released, so whatever is left outlives its locks).`,
      columns: [
        { key: 'heapBeforeMiB', label: 'heap before MiB', digits: 2, ratio: false },
        { key: 'heapAfterMiB', label: 'heap after MiB', digits: 2, ratio: false },
        { key: 'growthKiB', label: 'growth KiB', digits: 0, ratio: false },
        { key: 'noiseKiB', label: 'noise allowance KiB', digits: 0, ratio: false },
        { key: 'seconds', label: 'time s', digits: 1, ratio: false },
        { key: 'cyclesPerSec', label: 'cycles/s', digits: 0, ratio: true },
        { key: 'keysLeft', label: 'Redis keys left', digits: 0, ratio: false },
        { key: 'redisMiB', label: 'Redis used_memory MiB', digits: 1, ratio: false },
      ],
      rows,
      baselineId: 'floor',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
