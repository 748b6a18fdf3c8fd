import { LockService } from '../../lib';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

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
});
