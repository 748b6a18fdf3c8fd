import { Logger } from '@nestjs/common';
import { Redis, RedisOptions } from 'ioredis';
import { LOGGER_CONTEXT } from '../distributed-lock.constants';
import { MESSAGES } from '../distributed-lock.messages';
import type { RedisClientLike } from '../interfaces/distributed-lock-module-options.interface';
import type { LockStore } from './lock-store.interface';
import { MemoryLockStore } from './memory-lock.store';
import { RedisLockStore } from './redis-lock.store';

/**
 * Settings for a client the module creates itself: a queued command waits for one reconnect
 * at most, so a request fails closed quickly instead of hanging while Redis is down.
 */
const OWNED_CLIENT_DEFAULTS: RedisOptions = { maxRetriesPerRequest: 1 };

function isClient(value: unknown): value is RedisClientLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RedisClientLike).evalsha === 'function' &&
    typeof (value as RedisClientLike).status === 'string'
  );
}

export function createLockStore(
  redis: string | RedisOptions | RedisClientLike | undefined,
): LockStore {
  if (redis === undefined) return new MemoryLockStore();
  if (isClient(redis)) return new RedisLockStore(redis, false);
  if (typeof redis !== 'string' && (typeof redis !== 'object' || redis === null)) {
    throw new TypeError(
      'DistributedLockModule: `redis` must be a redis:// URL, ioredis options or an ioredis client.',
    );
  }
  const client =
    typeof redis === 'string'
      ? new Redis(redis, OWNED_CLIENT_DEFAULTS)
      : new Redis({ ...OWNED_CLIENT_DEFAULTS, ...redis });
  logConnectionErrors(client);
  return new RedisLockStore(client, true);
}

/** One log line per outage rather than one per reconnect attempt (and no "Unhandled error event"). */
function logConnectionErrors(client: Redis): void {
  const logger = new Logger(LOGGER_CONTEXT);
  let reported = false;
  client.on('error', (err: Error) => {
    if (reported) return;
    reported = true;
    logger.error(MESSAGES.redisError(err.message));
  });
  client.on('ready', () => {
    reported = false;
  });
}
