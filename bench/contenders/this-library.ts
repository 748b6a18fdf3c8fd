import { LockNotAcquiredError, LockService } from '../../lib';
import type { LockOptions } from '../../lib';
import type { Contender, Release } from './contender';
import type { Connect } from './floor';

/**
 * This library as users get it: `new LockService({ redis: url })` with its defaults (30 s lease,
 * watchdog renewal on); `autoExtend: false` as a second variant. `connect`: a client of the
 * bench's own passed as the `redis` option instead (S7: an ioredis Cluster client), with the id
 * and name it is shown under.
 */
export function thisLibrary(
  autoExtend: boolean,
  connect?: Connect,
  id = autoExtend ? 'lib' : 'lib-noext',
  name = autoExtend ? 'this library' : 'this library (autoExtend: false)',
): Contender {
  let service: LockService | undefined;
  let client: Awaited<ReturnType<Connect>> | undefined;
  const perCall: Omit<LockOptions, 'waitTimeout'> = autoExtend ? {} : { autoExtend: false };
  return {
    id,
    name,
    version: 'this repo',
    settings: autoExtend
      ? 'its defaults: 30 s lease, autoExtend on (watchdog renewal), waiting as the library does it (a FIFO wait queue in Redis; a release hands the lock to the next waiter and tells it by pub/sub); waitTimeout per scenario'
      : 'the same with `autoExtend: false` on every call',
    async setup(url) {
      client = connect ? await connect(url) : undefined;
      service = new LockService({ redis: client ?? url });
    },
    async acquire(key, waitMs): Promise<Release | null> {
      if (!service) throw new Error('not set up');
      if (waitMs === 0) {
        const lock = await service.tryAcquire(key, perCall);
        return lock ? () => lock.release() : null;
      }
      try {
        const lock = await service.acquire(key, { ...perCall, waitTimeout: waitMs });
        return () => lock.release();
      } catch (err) {
        if (err instanceof LockNotAcquiredError) return null;
        throw err;
      }
    },
    async close() {
      await service?.onApplicationShutdown();
      service = undefined;
      // A client passed in is the caller's to close.
      await client?.quit();
      client = undefined;
    },
  };
}
