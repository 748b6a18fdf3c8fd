import { Logger } from '@nestjs/common';
import {
  isPostgresPool,
  PostgresOption,
  PostgresPoolLike,
  PostgresPoolOptions,
} from './postgres-pool-like';
import { PostgresLockStore } from './postgres-lock.store';
import { POSTGRES_MESSAGES } from './postgres.messages';

interface PgModule {
  Pool: new (options: PostgresPoolOptions) => PostgresPoolLike & {
    on(event: 'error', listener: (err: Error) => void): unknown;
  };
}

/** `pg`, loaded only when the `postgres` option is used: it is an optional peer dependency. */
function loadPg(): PgModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pg') as PgModule;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND') throw new Error(POSTGRES_MESSAGES.driverMissing);
    throw err;
  }
}

/**
 * The PostgreSQL store for the (already checked) `postgres` option: a pool opened here for a
 * URL or settings (and closed with the store), a caller's pool as it is (never closed).
 */
export function createPostgresStore(
  option: PostgresOption,
  commandTimeoutMs: number,
): PostgresLockStore {
  const logger = new Logger('DistributedLockModule');
  const warn = (message: string): void => logger.warn(message);
  if (isPostgresPool(option)) {
    return new PostgresLockStore(option, false, { commandTimeoutMs, warn });
  }
  const { Pool } = loadPg();
  const settings: PostgresPoolOptions =
    typeof option === 'string' ? { connectionString: option } : { ...option };
  // A call fails closed within its bound rather than waiting for a connection that hangs.
  settings.connectionTimeoutMillis ??= commandTimeoutMs;
  const pool = new Pool(settings);
  // An idle connection that drops (a restart) is replaced on next use; not a crash.
  pool.on('error', (err) => logger.warn(`PostgreSQL connection error: ${err.message}`));
  return new PostgresLockStore(pool, true, { commandTimeoutMs, warn });
}
