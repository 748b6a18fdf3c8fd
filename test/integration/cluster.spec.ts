import { Logger } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { LockNotAcquiredError, LockService } from '../../lib';
import { connectCluster, RedisCluster, startRedisCluster } from '../support/redis-cluster';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('on a real Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let locks: LockService;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = await connectCluster(cluster);
    locks = new LockService({ redis: client, recheckInterval: 5000 });
  });

  afterAll(async () => {
    await locks?.onApplicationShutdown();
    client?.disconnect();
    await cluster?.stop();
  });

  it('checks the eviction policy of every master at start, not only the first it reaches', async () => {
    const last = new Redis(cluster.ports[cluster.ports.length - 1], '127.0.0.1');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await last.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const checking = new LockService({ redis: client });
      await checking.onModuleInit();
      expect(warn.mock.calls.flat().join(' ')).toMatch(/maxmemory-policy allkeys-lru/);
      await checking.onApplicationShutdown();
    } finally {
      await last.config('SET', 'maxmemory-policy', 'noeviction');
      last.disconnect();
      warn.mockRestore();
    }
  });

  it('keeps every key of one lock in one slot, so its scripts run', async () => {
    const lock = await locks.acquire('order:1');
    expect(await locks.isLocked('order:1')).toBe(true);
    expect(await lock.release()).toBe(true);
  });

  it('takes keys that live in different slots all or none', async () => {
    const keys = ['account:1', 'account:2', 'account:3', 'account:4'];
    const slots = await Promise.all(
      keys.map((k) => client.cluster('KEYSLOT', `lock:{${k}}`) as Promise<number>),
    );
    expect(new Set(slots).size).toBeGreaterThan(1);

    const blocker = await locks.acquire('account:3');
    await expect(locks.acquire(keys, { waitTimeout: 0 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    expect(await locks.isLocked('account:1')).toBe(false);
    await blocker.release();

    const all = await locks.acquire(keys);
    for (const k of keys) expect(await locks.isLocked(k)).toBe(true);
    expect(await all.release()).toBe(true);
  });

  it('wakes a waiter through cluster pub/sub well before the re-check interval', async () => {
    const held = await locks.acquire('job:1');
    const started = Date.now();
    const waiting = locks.acquire('job:1', { waitTimeout: 10_000 });
    await sleep(100);
    await held.release();
    const next = await waiting;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
    await next.release();
  });

  it('serialises concurrent callers across slots without deadlock', async () => {
    let active = 0;
    let maxActive = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        locks.using(i % 2 ? ['a', 'b'] : ['b', 'a'], async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await sleep(2);
          active--;
        }),
      ),
    );
    expect(maxActive).toBe(1);
  });
});
