import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Contender } from '../contenders/contender';
import { interleave } from '../interleave';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario';
import { measureRedis, REDIS_COST_COLUMNS, REDIS_COST_METHOD } from '../redis-cost';
import { now } from '../stats';
import { CONTENDED_WAIT_MS, HOLD_MS } from './s3-contended';
import { counterKey, type FromWorker, type ToWorker } from './s4-messages';

export const WORKERS = 4;
export const CALLERS_PER_WORKER = 4;

/** Resolves the next message of `worker`; rejects if it exits first. */
function nextMessage(worker: ChildProcess): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      worker.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      worker.off('message', onMessage);
      reject(new Error(`S4 worker exited (${code})`));
    };
    worker.once('message', onMessage);
    worker.once('exit', onExit);
  });
}

/** `storeUrl`: what the contenders are set up with, when not the counter's Redis `url`. */
export async function startWorkers(
  url: string,
  ids: string[],
  storeUrl?: string,
): Promise<ChildProcess[]> {
  const args = [url, String(CALLERS_PER_WORKER), ids.join(','), ...(storeUrl ? [storeUrl] : [])];
  const workers = Array.from({ length: WORKERS }, () =>
    fork(join(__dirname, 's4-worker.js'), args, {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const ready = await Promise.all(workers.map(nextMessage));
  for (const message of ready) {
    if (message.type !== 'ready') throw new Error('S4 worker did not start');
    const errors = Object.entries(message.setupErrors);
    if (errors.length > 0) throw new Error(`S4 worker setup failed: ${errors.join('; ')}`);
  }
  return workers;
}

export async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (worker) => {
      if (worker.exitCode !== null || worker.signalCode !== null) return;
      const exited = once(worker, 'exit');
      const killer = setTimeout(() => worker.kill('SIGKILL'), 5000);
      worker.send({ type: 'exit' } satisfies ToWorker);
      await exited;
      clearTimeout(killer);
    }),
  );
}

/**
 * `servers`: the Redis servers whose work is measured (none for the stores without Redis);
 * `waitMs`: how long a caller waits for the lock before counting a failure.
 */
export async function multiProcessRun(
  ctx: BenchContext,
  workers: ChildProcess[],
  contender: Contender,
  tag: string,
  durationMs: number,
  servers: readonly Redis[] = [ctx.redis.admin],
  waitMs = CONTENDED_WAIT_MS,
) {
  const redis = await measureRedis(servers);
  const start = now();
  const results = workers.map(nextMessage);
  for (const worker of workers) {
    worker.send({
      type: 'run',
      contenderId: contender.id,
      tag,
      durationMs,
      waitMs,
    } satisfies ToWorker);
  }
  let acquisitions = 0;
  let failures = 0;
  for (const message of await Promise.all(results)) {
    if (message.type !== 'result') throw new Error('unexpected S4 message');
    if (message.error) throw new Error(message.error);
    acquisitions += message.acquisitions;
    failures += message.failures;
  }
  const seconds = (now() - start) / 1000;
  const cost = await redis.end(acquisitions);
  const counter = Number((await ctx.redis.admin.get(counterKey(tag))) ?? 0);
  return {
    acqPerSec: acquisitions / seconds,
    lostUpdates: acquisitions - counter,
    failures,
    // The counter's GET and SET under the lock are in it too (2 commands per acquisition).
    ...cost,
  };
}

export const s4: Scenario = {
  id: 'S4',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const durationMs = ctx.options.quick ? 1000 : 1500;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 1 : 4);
    const workers = await startWorkers(
      ctx.redis.url,
      ctx.contenders.map((c) => c.id),
    );
    let rows;
    try {
      rows = await interleave(
        ctx,
        'S4',
        ctx.contenders,
        (c, round) => multiProcessRun(ctx, workers, c, `${c.id}:${round}`, durationMs),
        {
          rounds,
          timeoutMs: durationMs + CONTENDED_WAIT_MS + 30_000,
          baselineId: 'floor',
          summed: ['lostUpdates', 'failures'],
        },
      );
    } finally {
      await stopWorkers(workers);
    }
    return {
      id: 'S4',
      title: `S4 — ${WORKERS} processes × ${CALLERS_PER_WORKER} callers on one key, read/pause/write under the lock`,
      method: `${WORKERS} child processes with ${CALLERS_PER_WORKER} callers each, one key; under the lock a caller GETs a counter, waits ${HOLD_MS} ms, SETs counter + 1, releases and tries again (wait up to ${CONTENDED_WAIT_MS / 1000} s); ${rounds} rounds of ${durationMs / 1000} s per contender, interleaved, medians over rounds. lost updates = acquisitions − final counter, added up over all rounds (0 for a correct lock). ${REDIS_COST_METHOD} Both include the GET and SET of the counter under the lock.`,
      columns: [
        { key: 'acqPerSec', label: 'acq/s', digits: 0, ratio: true },
        { key: 'lostUpdates', label: 'lost updates (all rounds)', digits: 0, ratio: false },
        { key: 'failures', label: 'failed (all rounds)', digits: 0, ratio: false },
        ...REDIS_COST_COLUMNS,
      ],
      rows,
      baselineId: 'floor',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
