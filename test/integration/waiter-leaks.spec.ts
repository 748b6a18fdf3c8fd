import { LockMode, LockNotAcquiredError, LockService } from '../../lib';
import { useRedisServer } from '../support/use-redis-server';
import { fenceKeyOf, isFenceCounter } from '../support/fence-keys';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WAITS = 1000;
const CONCURRENCY = 50;
const HELD = 'leak:held';
/** Sorts before HELD: a multi-key wait takes it first, then waits for HELD, then must let it go. */
const BEFORE_HELD = 'leak:a-free';

/**
 * Ref'd timers of this process (unref'd ones, like lock watchdogs, are not listed), at the
 * quietest moment of a 300 ms window: Jest's reporter arms short-lived timers of its own in this
 * process. A timer a waiter leaked outlives the window: the services here re-check every 10 s.
 */
async function activeTimers(): Promise<number> {
  let fewest = Infinity;
  for (let i = 0; i < 15; i++) {
    fewest = Math.min(
      fewest,
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
    );
    await sleep(20);
  }
  return fewest;
}

const RECHECK = 10_000;

/**
 * One wait that must give up: by `waitTimeout`, by an abort during the wait, or by a signal
 * aborted before it starts; in the exclusive, read or write mode, or over two keys.
 */
async function failedWait(locks: LockService, i: number): Promise<void> {
  const mode: LockMode = (['exclusive', 'read', 'write'] as const)[i % 3];
  const keys: string | string[] = i % 10 === 0 ? [BEFORE_HELD, HELD] : HELD;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let options: { waitTimeout: number; signal?: AbortSignal };
  switch (i % 4) {
    case 0:
    case 1:
      options = { waitTimeout: 1 + (i % 25) };
      break;
    case 2:
      options = { waitTimeout: 10_000, signal: controller.signal };
      timer = setTimeout(() => controller.abort(new Error('caller gave up')), i % 30);
      break;
    default:
      controller.abort(new Error('caller gave up'));
      options = { waitTimeout: 10_000, signal: controller.signal };
  }
  const outcome = await (
    Array.isArray(keys)
      ? locks.acquire(keys, { ...options, mode })
      : locks.acquire(keys, { ...options, mode })
  ).then(
    () => new Error(`wait ${i} acquired a held lock`),
    (e: unknown) => e,
  );
  clearTimeout(timer);
  if (options.signal) {
    expect(outcome).toBe(controller.signal.reason);
  } else {
    expect(outcome).toBeInstanceOf(LockNotAcquiredError);
  }
}

async function failManyWaits(locks: LockService): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < WAITS) await failedWait(locks, next++);
    }),
  );
}

describe('waiters leave nothing behind (real redis-server)', () => {
  const fixture = useRedisServer();

  it(`after ${WAITS} waits that time out or abort: no subscription, queue key, hold or timer is left`, async () => {
    const holder = new LockService({ redis: fixture.server.url });
    const locks = new LockService({ redis: fixture.server.url, recheckInterval: RECHECK });
    try {
      const held = await holder.acquire(HELD);
      // Opens the wake-up connection, which lives as long as the service.
      await failedWait(locks, 0);
      await sleep(50);
      const timersBefore = await activeTimers();

      await failManyWaits(locks);

      // Unsubscribing is asynchronous: give it a moment.
      await sleep(100);
      expect(await fixture.redis.pubsub('CHANNELS')).toEqual([]);
      // Only the held lock and the fencing counters remain: no queue, waiter lease or writer key.
      expect((await fixture.redis.keys('lock:*')).sort()).toEqual(
        [...new Set([fenceKeyOf(BEFORE_HELD), `lock:{${HELD}}`, fenceKeyOf(HELD)])].sort(),
      );
      expect(locks.heldCount).toBe(0);
      expect(holder.heldCount).toBe(1);
      expect(await activeTimers()).toBeLessThanOrEqual(timersBefore);

      expect(await held.release()).toBe(true);
      expect(holder.heldCount).toBe(0);
      expect((await fixture.redis.keys('lock:*')).filter((k) => !isFenceCounter(k))).toEqual([]);
      expect(await activeTimers()).toBeLessThanOrEqual(timersBefore);
    } finally {
      await holder.onApplicationShutdown();
      await locks.onApplicationShutdown();
    }
  });
});

describe('waiters leave nothing behind (memory store)', () => {
  it(`after ${WAITS} waits that time out or abort: no resource state, hold or timer is left`, async () => {
    const locks = new LockService({ recheckInterval: RECHECK });
    const store = (locks as any).store as { size: number };
    try {
      const timersBefore = await activeTimers();
      const held = await locks.acquire(HELD);

      await failManyWaits(locks);

      await sleep(20);
      expect(store.size).toBe(1);
      expect(locks.heldCount).toBe(1);
      expect(await activeTimers()).toBeLessThanOrEqual(timersBefore);

      expect(await held.release()).toBe(true);
      expect(locks.heldCount).toBe(0);
      expect(store.size).toBe(0);
      expect(await activeTimers()).toBeLessThanOrEqual(timersBefore);
    } finally {
      await locks.onApplicationShutdown();
    }
  });
});
