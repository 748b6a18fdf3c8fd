import { Redis } from 'ioredis';
import type RedlockV4 from 'redlock4';
import {
  type Contender,
  LEASE_MS,
  packageVersion,
  PEER_RETRY_DELAY_MS,
  PEER_RETRY_JITTER_MS,
  type Release,
} from './contender';
import { REDLOCK_SETTINGS, retriesFor } from './redlock-v5-like';

/** `redlock` 4 (callback-era ioredis API), installed as the alias `redlock4`. */
export function redlock4(): Contender {
  let client: Redis | undefined;
  let redlock: RedlockV4 | undefined;
  // redlock 4 reads a per-call `retryCount` of 0 as "unset": no-wait attempts need an instance of their own.
  let noWait: RedlockV4 | undefined;
  return {
    id: 'redlock4',
    name: 'redlock v4',
    version: packageVersion('redlock4'),
    settings: REDLOCK_SETTINGS,
    async setup(url) {
      const Redlock = (await import('redlock4')).default;
      client = new Redis(url);
      const settings = { retryDelay: PEER_RETRY_DELAY_MS, retryJitter: PEER_RETRY_JITTER_MS };
      redlock = new Redlock([client], { ...settings, retryCount: 10 });
      noWait = new Redlock([client], { ...settings, retryCount: 0 });
      for (const instance of [redlock, noWait]) instance.on('clientError', () => undefined);
    },
    async acquire(key, waitMs): Promise<Release | null> {
      if (!redlock || !noWait) throw new Error('not set up');
      try {
        const lock =
          waitMs === 0
            ? await noWait.lock(key, LEASE_MS)
            : await redlock.lockWithOptions(key, LEASE_MS, { retryCount: retriesFor(waitMs) });
        return () => lock.unlock();
      } catch (err) {
        if (err instanceof Error && err.name === 'LockError') return null;
        throw err;
      }
    },
    async close() {
      await client?.quit();
      client = undefined;
      redlock = noWait = undefined;
    },
  };
}
