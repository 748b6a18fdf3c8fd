import { IdempotencyService, LockService } from '../../lib';
import { slotOf } from '../../lib/stores/cluster-slot';
import { hashTag } from '../../lib/stores/lock-resource';
import { isFenceCounter } from '../support/fence-keys';
import { useRedisServer } from '../support/use-redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scanAll(redis: import('ioredis').Redis, match: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

describe('no per-lock residue in Redis (real redis-server)', () => {
  const fixture = useRedisServer({ flush: true });

  it('leaves only the bounded per-slot fencing counters after distinct keys, waiters, timeouts and aborts', async () => {
    const locks = new LockService({ redis: fixture.server.url, recheckInterval: 50 });
    const used: string[] = [];
    const use = (key: string) => (used.push(key), key);
    try {
      // Distinct keys, one cycle each, in every mode.
      for (let i = 0; i < 3000; i++) {
        const key = use(`order:${i}`);
        const lock =
          i % 3 === 0
            ? await locks.acquire(key)
            : await locks.acquire(key, { mode: i % 3 === 1 ? 'read' : 'write' });
        await lock.release();
      }
      const sem = locks.semaphore(use('pool'), 2);
      await (await sem.acquire()).release();

      // Waiters: served by hand-over, timed out, aborted while queued, aborted before starting.
      const held = await locks.acquire(use('busy'));
      const controller = new AbortController();
      const waits = [
        locks.acquire('busy', { waitTimeout: 5000 }).then((l) => l.release()),
        locks.acquire('busy', { waitTimeout: 30 }).catch(() => undefined),
        locks
          .acquire('busy', { waitTimeout: 5000, signal: controller.signal })
          .catch(() => undefined),
        locks.acquire('busy', { mode: 'read', waitTimeout: 20 }).catch(() => undefined),
        locks.acquire([use('a-multi'), 'busy'], { waitTimeout: 40 }).catch(() => undefined),
        locks.tryAcquire('busy'),
      ];
      await sleep(60);
      controller.abort(new Error('gave up'));
      await held.release();
      await Promise.all(waits);
      expect(locks.heldCount).toBe(0);

      const left = await scanAll(fixture.redis, 'lock:*');
      // Nothing but fencing counters: no lock, queue, waiter, holder or hand-over key.
      expect(left.filter((k) => !isFenceCounter(k))).toEqual([]);
      // And exactly one counter per slot the workload touched, never one per lock.
      const slots = new Set(used.map((key) => slotOf(hashTag(key))));
      expect(left).toHaveLength(slots.size);
      expect(left.length).toBeLessThan(used.length);
    } finally {
      await locks.close();
    }
  });

  it('keeps counters bounded: 20000 distinct keys leave at most 16384', async () => {
    const locks = new LockService({ redis: fixture.server.url });
    try {
      for (let i = 0; i < 20000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, async (_, j) =>
            (await locks.acquire(`id:${i + j}`)).release(),
          ),
        );
      }
      const left = await scanAll(fixture.redis, 'lock:*');
      expect(left.every(isFenceCounter)).toBe(true);
      expect(left.length).toBeLessThanOrEqual(16384);
      expect(left.length).toBeGreaterThan(10000);
    } finally {
      await locks.close();
    }
  });

  it('leaves only records and counters behind idempotent calls, records expiring with retention', async () => {
    const locks = new LockService({ redis: fixture.server.url });
    const idempotency = new IdempotencyService(locks);
    try {
      for (let i = 0; i < 50; i++) {
        await idempotency.run(`req:${i}`, { i }, () => i, { retention: 200 });
      }
      const left = await scanAll(fixture.redis, 'lock:*');
      expect(left.filter((k) => !isFenceCounter(k) && !k.endsWith(':record'))).toEqual([]);
      await sleep(300);
      expect((await scanAll(fixture.redis, 'lock:*')).every(isFenceCounter)).toBe(true);
    } finally {
      await locks.close();
    }
  });
});
