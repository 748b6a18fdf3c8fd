// A child process of S4: sets up every contender once, then on each 'run' message has its
// callers increment a shared counter (GET, 1 ms pause, SET) under the contender's lock.
import { Redis } from 'ioredis';
import { createContender } from '../contenders';
import type { Contender } from '../contenders/contender';
import { sleep } from '../stats';
import { CONTENDED_WAIT_MS, HOLD_MS } from './s3-contended';
import { counterKey, type FromWorker, lockKey, type ToWorker } from './s4-messages';

function send(message: FromWorker): void {
  process.send?.(message);
}

async function runCallers(
  redis: Redis,
  contender: Contender,
  tag: string,
  callers: number,
  durationMs: number,
  waitMs: number,
): Promise<{ acquisitions: number; failures: number }> {
  let acquisitions = 0;
  let failures = 0;
  const deadline = Date.now() + durationMs;
  const caller = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const release = await contender.acquire(lockKey(tag), waitMs);
      if (!release) {
        failures++;
        continue;
      }
      const value = Number((await redis.get(counterKey(tag))) ?? 0);
      await sleep(HOLD_MS);
      await redis.set(counterKey(tag), String(value + 1));
      acquisitions++;
      await release();
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return { acquisitions, failures };
}

async function main(): Promise<void> {
  // `storeUrl`: where the contenders' locks live when that is not the counter's Redis (S9-S11).
  const [url, callersText, idsText, storeUrl] = process.argv.slice(2);
  const callers = Number(callersText);
  const contenders = new Map<string, Contender>();
  const setupErrors: Record<string, string> = {};
  for (const id of idsText.split(',')) {
    const contender = createContender(id);
    try {
      await contender.setup(storeUrl ?? url);
      contenders.set(id, contender);
    } catch (err) {
      setupErrors[id] = err instanceof Error ? err.message : String(err);
    }
  }
  const redis = new Redis(url);
  process.on('message', (message: ToWorker) => {
    if (message.type === 'exit') {
      void Promise.allSettled([...contenders.values()].map((c) => c.close()))
        .then(() => redis.quit())
        .finally(() => process.exit(0));
      return;
    }
    const contender = contenders.get(message.contenderId);
    if (!contender) {
      send({ type: 'result', acquisitions: 0, failures: 0, error: 'not set up in worker' });
      return;
    }
    runCallers(
      redis,
      contender,
      message.tag,
      callers,
      message.durationMs,
      message.waitMs ?? CONTENDED_WAIT_MS,
    ).then(
      (result) => send({ type: 'result', ...result }),
      (err: unknown) =>
        send({
          type: 'result',
          acquisitions: 0,
          failures: 0,
          error: err instanceof Error ? err.message : String(err),
        }),
    );
  });
  // The parent going away must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', setupErrors });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
