import { Cluster } from 'ioredis';
import { LockService } from '../../lib';
import { LockStoreUnavailableError } from '../../lib/errors/lock-store-unavailable.error';
import { lockResource } from '../../lib/stores/lock-resource';
import { RedisLockStore } from '../../lib/stores/redis-lock.store';
import { connectCluster, RedisCluster, startRedisCluster } from '../support/redis-cluster';
import { startSlotMigration } from '../support/slot-migration';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keys that end, empty or fake a Cluster hash tag, and one that looks like an encoded '}'. */
const AWKWARD_KEYS = ['}', '}a', 'a}b', '{x}', '%7D'];

describe('store hazards on a real Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let locks: LockService;
  let store: RedisLockStore;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = await connectCluster(cluster);
    // Wake-ups, not re-checks, must bring the waiters here their lock.
    locks = new LockService({ redis: client, recheckInterval: 5000 });
    // Transient replies (TRYAGAIN) are retried for 1.5 s at most: a migration outlasts that.
    store = new RedisLockStore(client, false, 1_500);
  });

  afterAll(async () => {
    await locks?.onApplicationShutdown();
    await store?.close();
    client?.disconnect();
    await cluster?.stop();
  });

  describe('while the slot of a held lock migrates key by key', () => {
    it.each([
      ['its key still on the old node, its fencing counter moved', false],
      ['its key moved, its fencing counter still on the old node', true],
    ])('an exclusive holder renews and releases it: %s', async (_case, keyMovesFirst) => {
      const resource = lockResource('lock:', '', `migrating:${String(keyMovesFirst)}`, 'x');
      const [lockKey, fenceKey] = resource.fastKeys;
      expect(await store.acquireFast(resource, 'holder', 30_000)).toEqual(expect.any(Number));
      const migration = await startSlotMigration(cluster.ports, lockKey);
      try {
        await migration.move(keyMovesFirst ? lockKey : fenceKey);
        expect(await store.extend(resource, 'holder', 20_000)).toBe(true);
        expect(await client.pttl(lockKey)).toBeGreaterThan(15_000);
        expect(await store.extend(resource, 'intruder', 20_000)).toBe(false);
        expect(await store.release(resource, 'intruder', false)).toBe(false);
        expect(await store.release(resource, 'holder', false)).toBe(true);
        expect(await client.exists(lockKey)).toBe(0);
        expect(await store.release(resource, 'holder', false)).toBe(false);
      } finally {
        await migration.finish();
      }
      // And the lock works as before on its new node.
      expect(await store.acquireFast(resource, 'next', 30_000)).toEqual(expect.any(Number));
      expect(await store.release(resource, 'next', false)).toBe(true);
    });

    it('a waited-on lock is never let go without its hand-over: the release fails instead', async () => {
      const resource = lockResource('lock:', '', 'migrating:waited', 'x');
      await store.acquireFast(resource, 'holder', 30_000);
      expect(await store.acquire(resource, 'waiter', 30_000, 30_000)).toEqual({
        retryInMs: expect.any(Number),
      });
      const migration = await startSlotMigration(cluster.ports, resource.id);
      try {
        await migration.move(resource.id);
        // The holder still renews (its key alone), but handing over needs the whole line.
        expect(await store.extend(resource, 'holder', 30_000)).toBe(true);
        await expect(store.release(resource, 'holder', false)).rejects.toBeInstanceOf(
          LockStoreUnavailableError,
        );
        expect((await client.get(resource.id))?.startsWith('holder')).toBe(true);
      } finally {
        await migration.finish();
      }
      expect(await store.release(resource, 'holder', false)).toBe(true);
      expect(await store.acquire(resource, 'waiter', 30_000, 30_000)).toEqual(expect.any(Number));
      expect(await store.release(resource, 'waiter', false)).toBe(true);
    });
  });

  describe.each(AWKWARD_KEYS)('key %p', (key) => {
    it('locks, releases, queues and wakes its waiter', async () => {
      const held = await locks.acquire(key);
      expect(await locks.isLocked(key)).toBe(true);
      const started = Date.now();
      const waiting = locks.acquire(key, { waitTimeout: 10_000 });
      await sleep(50);
      expect(await held.release()).toBe(true);
      const next = await waiting;
      // Woken by its hand-over, long before its 5 s re-check.
      expect(Date.now() - started).toBeLessThan(2500);
      expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
      expect(await next.release()).toBe(true);
      expect(await locks.isLocked(key)).toBe(false);
    });

    it('works as a read-write lock and as a semaphore', async () => {
      const reader = await locks.acquire(key, { mode: 'read' });
      const writing = locks.acquire(key, { mode: 'write', waitTimeout: 10_000 });
      await sleep(50);
      await reader.release();
      await (await writing).release();

      const permits = locks.semaphore(key, 1);
      const first = await permits.acquire();
      const second = permits.acquire({ waitTimeout: 10_000 });
      await sleep(50);
      await first.release();
      await (await second).release();
    });
  });

  it('keeps the awkward keys distinct from each other', async () => {
    const held = await Promise.all(AWKWARD_KEYS.map((key) => locks.tryAcquire(key)));
    expect(held.every((lock) => lock !== null)).toBe(true);
    await Promise.all(held.map((lock) => lock?.release()));
  });
});
