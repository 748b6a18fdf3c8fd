import { LockService } from '../../lib';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { isFenceCounter } from '../support/fence-keys';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connections that fail or close around a wait (real redis-server)', () => {
  const fixture = useRedisServer({ flush: true });
  const connectionsNamed = async (name: string): Promise<number> =>
    ((await fixture.redis.client('LIST')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${name} `)).length;
  const service = (name: string, recheckInterval = 200): LockService =>
    new LockService({
      redis: { host: '127.0.0.1', port: fixture.server.port, connectionName: name },
      recheckInterval,
      waitTimeout: 5_000,
      evictionPolicy: 'ignore',
    });

  it('close() during an acquire settles it and leaves no connection, queue entry or timer behind', async () => {
    const holder = service('holder');
    const waiting = service('closing');
    try {
      const held = await holder.acquire('close:k');
      const outcome = waiting.acquire('close:k').then(
        () => 'acquired',
        (err: Error) => err.name,
      );
      await waitUntil(
        async () => (await fixture.redis.zcard('lock:{close:k}:queue')) === 1,
        'queued',
      );
      const started = Date.now();
      await waiting.close();
      expect(await outcome).toBe('LockStoreUnavailableError');
      expect(Date.now() - started).toBeLessThan(2_000);
      await sleep(300);
      expect(await connectionsNamed('closing')).toBe(0);
      await held.release();
      // The abandoned place in line expires with the waiter's lease; nothing else is left.
      await waitUntil(
        async () => (await fixture.redis.exists('lock:{close:k}:queue')) === 0,
        'the queue is gone',
      );
    } finally {
      await holder.close();
    }
  });

  it('a wake-up connection that cannot be opened neither hangs a wait nor stays failed once it can', async () => {
    const holder = service('holder');
    const waiter = service('waiter', 5_000);
    const clients = Number(/connected_clients:(\d+)/.exec(await fixture.redis.info('clients'))![1]);
    let held = await holder.acquire('sub:k');
    // The waiter's command connection opens first; after it, no new connection is accepted.
    await waiter.isLocked('sub:k');
    await fixture.redis.config('SET', 'maxclients', String(clients + 1));
    try {
      const started = Date.now();
      const first = await waiter.tryAcquire('sub:k');
      expect(first).toBeNull();
      await expect(waiter.acquire('sub:k', { waitTimeout: 1_500 })).rejects.toThrow();
      // Bounded by its waitTimeout (and the command timeout), not by the subscriber's outage.
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await fixture.redis.config('SET', 'maxclients', '10000');
    }
    try {
      await waitUntil(async () => (await connectionsNamed('waiter')) === 2, 'reconnected', 10_000);
      await held.release();
      held = await holder.acquire('sub:k');
      const wait = waiter.acquire('sub:k');
      await waitUntil(
        async () => (await fixture.redis.zcard('lock:{sub:k}:queue')) === 1,
        'queued',
      );
      const released = Date.now();
      await held.release();
      const lock = await wait;
      // Woken by the release, not by its 5 s re-check: the subscription was made anew.
      expect(Date.now() - released).toBeLessThan(1_500);
      await lock.release();
    } finally {
      await holder.close();
      await waiter.close();
    }
  });

  it('connections killed while acquires are in flight: every call ends within its limits, and no lock is left that nobody holds', async () => {
    const holder = service('killed-holder', 200);
    // Waiters' places would expire only after 3 re-checks (30 s): what is left must be cleaned up.
    const locks = service('killed', 10_000);
    const KEYS = 60;
    try {
      // Every third key is held elsewhere: its callers queue, and give up at their waitTimeout.
      const blocking = await Promise.all(
        Array.from({ length: KEYS / 3 }, (_, i) =>
          holder.acquire(`killed:${i * 3}`, { ttl: 60_000 }),
        ),
      );
      const started = Date.now();
      const calls = Array.from({ length: KEYS }, async (_, i) => {
        const at = Date.now();
        const outcome = await locks.acquire(`killed:${i}`, { ttl: 60_000, waitTimeout: 300 }).then(
          (lock) => ({ lock }),
          (err: Error) => ({ error: err.name }),
        );
        return { ...outcome, took: Date.now() - at };
      });
      // Kill every normal connection (the holder's and the caller's) while calls are on the wire.
      for (let round = 0; round < 6; round++) {
        await fixture.redis.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        await sleep(50);
      }
      const outcomes = await Promise.all(calls);
      // waitTimeout 300 or commandTimeout 1000, with room for a loaded machine.
      expect(Math.max(...outcomes.map((o) => o.took))).toBeLessThan(2_500);
      expect(Date.now() - started).toBeLessThan(3_000);
      const gaveUp = outcomes.filter((o) => 'error' in o).length;
      expect(gaveUp).toBeGreaterThanOrEqual(KEYS / 3);
      // Calls that gave up clean up by token in the background: then every lock key in Redis
      // belongs to a lock that some caller holds.
      const held = [...blocking, ...outcomes.flatMap((o) => ('lock' in o ? [o.lock] : []))];
      const lockKeysLeft = async () =>
        (await fixture.redis.keys('lock:{killed:*}')).filter((k) => !k.includes('}:'));
      await waitUntil(
        async () => (await lockKeysLeft()).length === held.length,
        'only held locks are left',
      );
      for (const lock of held) {
        expect(await fixture.redis.get(`lock:{${lock.key}}`)).toMatch(new RegExp(`^${lock.token}`));
        expect(await lock.release()).toBe(true);
      }
      await waitUntil(async () => (await lockKeysLeft()).length === 0, 'every lock is released');
      const companions = (await fixture.redis.keys('lock:{killed:*}')).filter(
        (k) => !isFenceCounter(k),
      );
      expect(companions).toEqual([]);
    } finally {
      await holder.close();
      await locks.close();
    }
  });
});
