import { Redis } from 'ioredis';
import { type Contender, LEASE_MS, packageVersion, type Release } from './contender';

type MutexConstructor = typeof import('redis-semaphore').Mutex;

/** `redis-semaphore`'s Mutex: one Mutex object per acquisition, as its README does. */
export function redisSemaphore(): Contender {
  let client: Redis | undefined;
  let Mutex: MutexConstructor | undefined;
  return {
    id: 'redis-semaphore',
    name: 'redis-semaphore Mutex',
    version: packageVersion('redis-semaphore'),
    settings: `lockTimeout ${LEASE_MS / 1000} s, refresh on (its default: every 0.8 × lockTimeout), retryInterval 10 ms (its default), acquireTimeout = wait; no-wait = acquireAttemptsLimit 1`,
    async setup(url) {
      Mutex = (await import('redis-semaphore')).Mutex;
      client = new Redis(url);
    },
    async acquire(key, waitMs): Promise<Release | null> {
      if (!client || !Mutex) throw new Error('not set up');
      const mutex = new Mutex(client, key, {
        lockTimeout: LEASE_MS,
        ...(waitMs === 0 ? { acquireAttemptsLimit: 1 } : { acquireTimeout: waitMs }),
        onLockLost: () => undefined,
      });
      if (!(await mutex.tryAcquire())) return null;
      return () => mutex.release();
    },
    async close() {
      await client?.quit();
      client = undefined;
    },
  };
}
