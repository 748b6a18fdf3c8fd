import { Redis } from 'ioredis';
import { MESSAGES } from '../../distributed-lock.messages';
import type { RedlockOptions } from '../../interfaces/distributed-lock-module-options.interface';
import { isRedisClient, OWNED_CLIENT_DEFAULTS } from '../create-lock-store';
import { logConnectionErrors } from '../log-connection-errors';
import { RedlockMaster } from './redlock-master';
import { RedlockStore } from './redlock.store';
import { DEFAULT_DRIFT_FACTOR, DEFAULT_RETRY_JITTER_MS } from './redlock-timing';

/** A master's name for messages: its place, and host:port when known (never credentials). */
function nameOf(index: number, client: Redis | undefined): string {
  const options = client?.options;
  const where = options?.path ? options.path : options ? `${options.host}:${options.port}` : '';
  return `master ${index + 1}${where ? ` (${where})` : ''}`;
}

/**
 * The Redlock store for the (already checked) `redlock` option: one connection per master,
 * opened here for a URL or options (and closed with the store), a caller's client as it is.
 */
export function createRedlockStore(
  options: RedlockOptions,
  commandTimeoutMs: number,
): RedlockStore {
  const masters = options.masters.map((master, i) => {
    if (isRedisClient(master)) {
      return new RedlockMaster(
        master,
        false,
        nameOf(i, master instanceof Redis ? master : undefined),
      );
    }
    const client =
      typeof master === 'string'
        ? new Redis(master, OWNED_CLIENT_DEFAULTS)
        : new Redis({ ...OWNED_CLIENT_DEFAULTS, ...master });
    const name = nameOf(i, client);
    logConnectionErrors(client, (detail) => `${name}: ${MESSAGES.redisError(detail)}`);
    return new RedlockMaster(client, true, name);
  });
  return new RedlockStore(masters, {
    driftFactor: options.driftFactor ?? DEFAULT_DRIFT_FACTOR,
    retryJitter: options.retryJitter ?? DEFAULT_RETRY_JITTER_MS,
    masterTimeout: options.masterTimeout,
    commandTimeout: commandTimeoutMs,
  });
}
