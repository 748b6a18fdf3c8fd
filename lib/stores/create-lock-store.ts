import { Redis, RedisOptions } from 'ioredis';
import { MESSAGES } from '../distributed-lock.messages';
import type {
  EtcdOptions,
  RedisClientLike,
  RedlockOptions,
} from '../interfaces/distributed-lock-module-options.interface';
import { assertRedisOption } from '../validation/redis-option';
import type { LockStore } from './lock-store.interface';
import { logConnectionErrors } from './log-connection-errors';
import { MemoryLockStore } from './memory-lock.store';
import { RedisLockStore, ReplicaSync } from './redis-lock.store';
import { createRedlockStore } from './redlock/create-redlock-store';
import { createEtcdStore } from './etcd/create-etcd-store';
import type { DistributedLockModuleOptions } from '../interfaces/distributed-lock-module-options.interface';
import { createPostgresStore } from './postgres/create-postgres-store';

/**
 * Settings for a client the module creates itself: a queued command waits for one reconnect
 * at most, so a request fails closed quickly instead of hanging while Redis is down. A close
 * while reconnecting arms ioredis' disconnect timer on a socket that already closed, which
 * would keep the process alive for its full length (2 s by default).
 */
export const OWNED_CLIENT_DEFAULTS: RedisOptions = {
  maxRetriesPerRequest: 1,
  disconnectTimeout: 100,
};

export function isRedisClient(value: unknown): value is RedisClientLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RedisClientLike).evalsha === 'function' &&
    typeof (value as RedisClientLike).status === 'string'
  );
}

/**
 * The store of the (already checked) `store` or `postgres` option: a given store as it is, or
 * the PostgreSQL store; `undefined` when neither is set (Redis, Redlock, etcd or memory).
 */
export function createPluggedStore(
  options: DistributedLockModuleOptions,
  commandTimeoutMs: number,
): LockStore | undefined {
  if (options.store !== undefined) return options.store;
  if (options.postgres !== undefined)
    return createPostgresStore(options.postgres, commandTimeoutMs);
  return undefined;
}

export function createLockStore(
  redis: string | RedisOptions | RedisClientLike | undefined,
  commandTimeoutMs: number,
  sync?: ReplicaSync,
  /** Redlock over independent masters instead of `redis` (the options forbid both). */
  redlock?: RedlockOptions,
  /** etcd instead of Redis (the options forbid both). */
  etcd?: EtcdOptions,
): LockStore {
  if (redlock !== undefined) return createRedlockStore(redlock, commandTimeoutMs);
  if (etcd !== undefined) return createEtcdStore(etcd, commandTimeoutMs);
  if (redis === undefined) return new MemoryLockStore();
  if (isRedisClient(redis)) return new RedisLockStore(redis, false, commandTimeoutMs, sync);
  assertRedisOption(redis);
  const client =
    typeof redis === 'string'
      ? new Redis(redis, OWNED_CLIENT_DEFAULTS)
      : new Redis({ ...OWNED_CLIENT_DEFAULTS, ...redis });
  logConnectionErrors(client, MESSAGES.redisError);
  return new RedisLockStore(client, true, commandTimeoutMs, sync);
}
