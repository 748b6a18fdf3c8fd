// S9 Redlock over 5 masters, S10 PostgreSQL, S11 etcd: the S1, S3 and S4 loops on each store,
// this library against that store's own baseline (redlock v5 over the same masters; the bare SQL
// statements; the bare etcd transactions), one table per store.
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { STORE_CONTENDERS } from '../contenders';
import type { Contender } from '../contenders/contender';
import { interleave } from '../interleave';
import { measureRedis } from '../redis-cost';
import type { BenchContext, Column, Row, Scenario, ScenarioReport } from '../scenario';
import { now, Samples, sleep } from '../stats';
import {
  REDLOCK_MASTERS,
  startEtcd,
  startPostgres,
  startRedlockMasters,
  type StoreServers,
} from '../store-servers';
import { HOLD_MS, S3_CALLERS } from './s3-contended';
import {
  CALLERS_PER_WORKER,
  multiProcessRun,
  startWorkers,
  stopWorkers,
  WORKERS,
} from './s4-multiprocess';

interface StoreSpec {
  id: string;
  /** The store, as the title names it. */
  store: string;
  start(): Promise<StoreServers>;
  factories: Record<string, () => Contender>;
  baselineId: string;
  /** What the baseline is, for the method paragraph. */
  baseline: string;
}

/**
 * How long a caller of the S3 and S4 loops waits before counting a failure: shorter than S3's
 * 60 s, because a Redlock whose retries split the votes across processes can starve for long
 * (a caller still waiting at the end of a run finishes its turn, so this bounds the run).
 */
export const STORE_WAIT_MS = 5_000;

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

/** One acquire/release of a free key, a refused try on a held one, and a second acquire. */
async function smokeTest(contender: Contender, url: string): Promise<string | undefined> {
  await contender.setup(url);
  const key = `smoke:${contender.id}`;
  const release = await contender.acquire(key, 1000);
  if (!release) return 'could not take a free key';
  if (await contender.acquire(key, 0)) return 'took a key that was held';
  await release();
  const again = await contender.acquire(key, 1000);
  if (!again) return 'could not take a released key';
  await again();
  return undefined;
}

/** S1's loop: one caller, acquire + release on a new key each time, for `durationMs`. */
async function sequential(
  contender: Contender,
  tag: string,
  durationMs: number,
  servers: readonly Redis[],
) {
  const latencies = new Samples();
  const redis = await measureRedis(servers);
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
    ...(servers.length ? await redis.end(latencies.count) : {}),
  };
}

/** S3's loop: 16 callers on one key, each holding it for a 1 ms timer. */
async function contended(contender: Contender, tag: string, durationMs: number) {
  const key = `s3:${tag}`;
  const waits = new Samples();
  let acquisitions = 0;
  let failures = 0;
  let sameAsPrevious = 0;
  let previousHolder = -1;
  const start = now();
  const deadline = start + durationMs;
  const caller = async (id: number): Promise<void> => {
    while (now() < deadline) {
      const t0 = now();
      const release = await contender.acquire(key, STORE_WAIT_MS);
      if (!release) {
        failures++;
        continue;
      }
      waits.push(now() - t0);
      if (id === previousHolder) sameAsPrevious++;
      previousHolder = id;
      acquisitions++;
      await sleep(HOLD_MS);
      await release();
    }
  };
  await Promise.all(Array.from({ length: S3_CALLERS }, (_, id) => caller(id)));
  return {
    acqPerSec: acquisitions / ((now() - start) / 1000),
    p50WaitMs: waits.percentile(50),
    p99WaitMs: waits.percentile(99),
    sameCallerPct: (100 * sameAsPrevious) / Math.max(1, acquisitions - 1),
    failures,
  };
}

/** Rows of one loop with their figures' keys prefixed, by contender id. */
function byContender(rows: Row[], prefix: string): Map<string, Row> {
  const prefixed = (figures: Record<string, number> | undefined) =>
    Object.fromEntries(Object.entries(figures ?? {}).map(([k, v]) => [`${prefix}.${k}`, v]));
  return new Map(
    rows.map((row) => [
      row.contenderId,
      { ...row, values: prefixed(row.values), ratios: prefixed(row.ratios) },
    ]),
  );
}

/** One row per contender with every loop's figures; notes for the loops a contender failed. */
function merge(loops: { label: string; rows: Map<string, Row> }[], order: string[]) {
  const notes: string[] = [];
  const rows: Row[] = order.flatMap((id) => {
    const parts = loops.map((loop) => ({ label: loop.label, row: loop.rows.get(id) }));
    const first = parts.find((p) => p.row)?.row;
    if (!first) return [];
    const working = parts.filter((p) => p.row && !p.row.unavailable);
    if (working.length === 0) return [{ ...first, values: {}, ratios: {} }];
    for (const p of parts) {
      if (p.row?.unavailable && working.length > 0) {
        notes.push(`${first.name}, ${p.label} loop: n/a (${p.row.unavailable}).`);
      }
    }
    const values = Object.assign({}, ...working.map((p) => p.row?.values));
    const ratios = Object.assign({}, ...working.map((p) => p.row?.ratios));
    return [{ contenderId: id, name: first.name, values, ratios }];
  });
  return { rows, notes };
}

function storeScenario(spec: StoreSpec): Scenario {
  return {
    id: spec.id,
    async run(ctx: BenchContext): Promise<ScenarioReport> {
      const started = now();
      const quick = ctx.options.quick;
      const s1Ms = quick ? 150 : 200;
      const s1Rounds = ctx.options.rounds ?? (quick ? 3 : 8);
      const loopMs = 1000;
      const loopRounds = ctx.options.rounds ?? (quick ? 1 : 3);
      const servers = await spec.start();
      ctx.log(`${spec.id}: ${servers.version} on ${servers.url}`);
      const contenders: Contender[] = [];
      const unavailable: BenchContext['unavailable'] = [];
      let workers: ChildProcess[] = [];
      try {
        for (const [id, factory] of Object.entries(spec.factories)) {
          const contender = factory();
          const reason = await smokeTest(contender, servers.url).catch(describe);
          if (reason === undefined) contenders.push(contender);
          else {
            await contender.close().catch(() => undefined);
            ctx.log(`${spec.id} ${contender.name}: n/a (${reason})`);
            unavailable.push({ id, name: contender.name, reason });
          }
        }
        const sub: BenchContext = { ...ctx, contenders, unavailable };
        const admins = servers.redis.map((m) => m.admin);
        const s1Rows = await interleave(
          sub,
          `${spec.id} S1`,
          contenders,
          (c, round) => sequential(c, `${c.id}:${round}`, s1Ms, admins),
          {
            rounds: s1Rounds,
            warmup: (c) => sequential(c, `${c.id}:warm`, quick ? 100 : 300, admins),
            timeoutMs: s1Ms + 30_000,
            baselineId: spec.baselineId,
          },
        );
        const s3Rows = await interleave(
          sub,
          `${spec.id} S3`,
          contenders,
          (c, round) => contended(c, `${c.id}:${round}`, loopMs),
          {
            rounds: loopRounds,
            timeoutMs: loopMs + STORE_WAIT_MS + 30_000,
            summed: ['failures'],
            baselineId: spec.baselineId,
          },
        );
        workers = await startWorkers(
          ctx.redis.url,
          contenders.map((c) => c.id),
          servers.url,
        );
        const s4Rows = await interleave(
          sub,
          `${spec.id} S4`,
          contenders,
          (c, round) =>
            multiProcessRun(
              ctx,
              workers,
              c,
              `${spec.id}:${c.id}:${round}`,
              loopMs,
              admins,
              STORE_WAIT_MS,
            ),
          {
            rounds: loopRounds,
            timeoutMs: loopMs + STORE_WAIT_MS + 30_000,
            summed: ['lostUpdates', 'failures'],
            baselineId: spec.baselineId,
          },
        );
        const { rows, notes } = merge(
          [
            { label: 'S1', rows: byContender(s1Rows, 's1') },
            { label: 'S3', rows: byContender(s3Rows, 's3') },
            { label: 'S4', rows: byContender(s4Rows, 's4') },
          ],
          Object.keys(spec.factories),
        );
        const redisColumns: Column[] = admins.length
          ? [
              { key: 's1.redisCpuUs', label: 'S1 Redis CPU µs/cycle', digits: 1, ratio: true },
              { key: 's1.redisCmds', label: 'S1 Redis cmds/cycle', digits: 1, ratio: true },
            ]
          : [];
        return {
          id: spec.id,
          title: `${spec.id} — ${spec.store}: S1, S3 and S4 loops`,
          method: `${servers.version}. This library on the store against ${spec.baseline}. S1: one caller, acquire + release on a new key each cycle, ${s1Rounds} rounds of ${s1Ms} ms per contender (not pinned to a CPU). S3: ${S3_CALLERS} callers in one process on one key, each holding it for a ${HOLD_MS} ms timer, then at once trying again (wait up to ${STORE_WAIT_MS / 1000} s; a caller that gives up counts as failed and tries again); same caller % = share of acquisitions taken by the caller that held it just before (fair ≈ ${(100 / S3_CALLERS).toFixed(1)} %). S4: ${WORKERS} processes × ${CALLERS_PER_WORKER} callers on one key, read/pause/write of a counter under the lock (the counter lives in the bench's own Redis, not in the store under test); lost updates = acquisitions − final counter, over all rounds. S3 and S4: ${loopRounds} round(s) of ${loopMs / 1000} s per contender. Contenders interleaved round-robin in each loop, medians over rounds.${admins.length ? ` Redis CPU and commands: added up over the ${admins.length} masters (INFO cpu, INFO commandstats, commands inside Lua scripts included), per cycle.` : ''}`,
          columns: [
            { key: 's1.cyclesPerSec', label: 'S1 cycles/s', digits: 0, ratio: true },
            { key: 's1.p50us', label: 'S1 p50 µs', digits: 0, ratio: true },
            { key: 's1.p99us', label: 'S1 p99 µs', digits: 0, ratio: true },
            ...redisColumns,
            { key: 's3.acqPerSec', label: 'S3 acq/s', digits: 0, ratio: true },
            { key: 's3.p50WaitMs', label: 'S3 p50 wait ms', digits: 1, ratio: true },
            { key: 's3.p99WaitMs', label: 'S3 p99 wait ms', digits: 1, ratio: true },
            { key: 's3.sameCallerPct', label: 'S3 same caller %', digits: 1, ratio: false },
            { key: 's3.failures', label: 'S3 gave up', digits: 0, ratio: false },
            { key: 's4.acqPerSec', label: 'S4 acq/s', digits: 0, ratio: true },
            { key: 's4.lostUpdates', label: 'S4 lost updates', digits: 0, ratio: false },
            { key: 's4.failures', label: 'S4 gave up', digits: 0, ratio: false },
          ],
          rows: [
            ...rows,
            ...unavailable
              .filter((u) => !rows.some((r) => r.contenderId === u.id))
              .map((u) => ({ contenderId: u.id, name: u.name, values: {}, unavailable: u.reason })),
          ],
          baselineId: spec.baselineId,
          notes: [
            ...notes,
            `Contenders: ${[...contenders.map((c) => `${c.name} (${c.version}): ${c.settings}`), ...unavailable.map((u) => `${u.name}: n/a (${u.reason})`)].join('; ')}.`,
          ],
          elapsedMs: now() - started,
        };
      } finally {
        await stopWorkers(workers).catch(() => undefined);
        await Promise.allSettled(contenders.map((c) => c.close()));
        await servers.stop().catch(() => undefined);
      }
    },
  };
}

export const s9 = storeScenario({
  id: 'S9',
  store: `Redlock over ${REDLOCK_MASTERS} independent redis-servers`,
  start: startRedlockMasters,
  factories: STORE_CONTENDERS.redlock,
  baselineId: 'rl-redlock5',
  baseline: `redlock v5 (the de-facto Node Redlock) and its fork @sesamecare-oss/redlock over the same ${REDLOCK_MASTERS} masters; ratios to redlock v5`,
});

export const s10 = storeScenario({
  id: 'S10',
  store: 'PostgreSQL',
  start: startPostgres,
  factories: STORE_CONTENDERS.postgres,
  baselineId: 'pg-floor',
  baseline:
    'its floor: the bare SQL statements on a plain table through pg (INSERT … ON CONFLICT DO UPDATE … WHERE expires_at < clock_timestamp() to acquire, an owner-checked DELETE to release, polling every 2 ms); ratios to the floor',
});

export const s11 = storeScenario({
  id: 'S11',
  store: 'etcd (one member)',
  start: startEtcd,
  factories: STORE_CONTENDERS.etcd,
  baselineId: 'etcd-floor',
  baseline:
    'its floor: the bare etcd3 transactions (put-if-absent on a process-wide lease, an owner-checked delete, polling every 2 ms); ratios to the floor',
});
