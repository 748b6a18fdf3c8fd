import type { Contender } from '../contenders/contender';
import type { BenchContext, Row, Scenario, ScenarioReport } from '../scenario';
import { bounded } from '../interleave';
import { measureRedis, REDIS_COST_COLUMNS, REDIS_COST_METHOD } from '../redis-cost';
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

/** Keys whose name holds `fence{`: the library's fencing counters (one per Cluster slot). */
async function countFencingCounters(ctx: BenchContext): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await ctx.redis.admin.scan(cursor, 'MATCH', '*fence{*', 'COUNT', 1000);
    count += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return count;
}

async function measure(ctx: BenchContext, contender: Contender, total: number) {
  await ctx.redis.flush();
  const redisBefore = await ctx.redis.usedMemory();
  await cycles(contender, `${contender.id}:warm1`, WARMUP_CYCLES);
  const first = await settledHeap();
  await cycles(contender, `${contender.id}:warm2`, WARMUP_CYCLES);
  const before = await settledHeap();
  const redis = await measureRedis([ctx.redis.admin]);
  const ms = await cycles(contender, contender.id, total);
  const cost = await redis.end(total);
  const after = await settledHeap();
  const keysLeft = await ctx.redis.admin.dbsize();
  const counters = await countFencingCounters(ctx);
  const redisMemory = await ctx.redis.usedMemory();
  const growth = after - before;
  const noise = Math.max(MIN_NOISE_BYTES, 3 * Math.abs(before - first));
  ctx.log(
    `S6 ${contender.name}: ${total} cycles in ${(ms / 1000).toFixed(1)} s, heap ${mib(before)} → ${mib(after)} MiB, ${keysLeft} Redis keys left, used_memory +${mib(redisMemory - redisBefore)} MiB`,
  );
  return {
    heapBeforeMiB: before / 2 ** 20,
    heapAfterMiB: after / 2 ** 20,
    growthKiB: growth / 1024,
    noiseKiB: noise / 1024,
    pass: growth <= noise ? 1 : 0,
    seconds: ms / 1000,
    cyclesPerSec: total / (ms / 1000),
    ...cost,
    keysLeft,
    counters,
    redisMiB: redisMemory / 2 ** 20,
    redisGrowthMiB: (redisMemory - redisBefore) / 2 ** 20,
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
      method: `${CONCURRENCY} concurrent callers, every cycle on a new key. After 2 × ${WARMUP_CYCLES.toLocaleString('en-US')} warm-up cycles, forced GC (node --expose-gc) and heapUsed ("before"); then ${total.toLocaleString('en-US')} cycles, GC, heapUsed ("after"). Noise allowance = max(1 MiB, 3 × the heap change between the two warm-up batches); "no growth" passes when after − before ≤ that. Redis keys left / used_memory: DBSIZE and INFO memory right after the run (every lock was released, so whatever is left outlives its locks); fencing counters: keys matching *fence{* (SCAN); used_memory growth: from the flushed server before the warm-up to after the run. ${REDIS_COST_METHOD}`,
      columns: [
        { key: 'heapBeforeMiB', label: 'heap before MiB', digits: 2, ratio: false },
        { key: 'heapAfterMiB', label: 'heap after MiB', digits: 2, ratio: false },
        { key: 'growthKiB', label: 'growth KiB', digits: 0, ratio: false },
        { key: 'noiseKiB', label: 'noise allowance KiB', digits: 0, ratio: false },
        { key: 'seconds', label: 'time s', digits: 1, ratio: false },
        { key: 'cyclesPerSec', label: 'cycles/s', digits: 0, ratio: true },
        ...REDIS_COST_COLUMNS,
        { key: 'keysLeft', label: 'Redis keys left', digits: 0, ratio: false },
        { key: 'counters', label: 'of them fencing counters', digits: 0, ratio: false },
        { key: 'redisMiB', label: 'Redis used_memory MiB', digits: 2, ratio: false },
        { key: 'redisGrowthMiB', label: 'used_memory growth MiB', digits: 2, ratio: false },
      ],
      rows,
      baselineId: 'floor',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
