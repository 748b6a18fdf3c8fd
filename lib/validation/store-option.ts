import { describeValue } from './describe-value';

/** The module options that each choose where locks live: at most one may be given. */
const STORE_OPTIONS = ['redis', 'redlock', 'etcd', 'postgres', 'store'] as const;

/** What a `store` option must have: every method of the `LockStore` contract. */
const STORE_METHODS = [
  'acquire',
  'acquireFast',
  'release',
  'extend',
  'leave',
  'isLocked',
  'claim',
  'complete',
  'addWaiter',
  'listen',
  'removeWaiter',
  'checkSetup',
  'health',
  'close',
] as const;

/**
 * Checks the `postgres` and `store` module options without connecting, and that no two options
 * choose a store (`redis`, `redlock`, `etcd`, `postgres`, `store`).
 */
export function assertStoreOptions(options: object): void {
  const given = STORE_OPTIONS.filter(
    (name) => (options as Record<string, unknown>)[name] !== undefined,
  );
  const { postgres, store } = options as Record<string, unknown>;
  if ((postgres !== undefined || store !== undefined) && given.length > 1) {
    throw new TypeError(
      `DistributedLockModule options ${given.map((n) => `\`${n}\``).join(' and ')} are ` +
        'mutually exclusive: each chooses where locks live; give one.',
    );
  }
  if (postgres !== undefined) assertPostgresOption(postgres);
  if (store !== undefined) assertStoreOption(store);
}

function assertPostgresOption(postgres: unknown): void {
  const label = 'DistributedLockModule option `postgres`';
  if (typeof postgres === 'string') {
    if (/^postgres(ql)?:\/\//.test(postgres)) return;
    const redacted = postgres.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^@/?#]*@/i, '$1***@');
    throw new TypeError(
      `${label} must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redacted)}.`,
    );
  }
  if (typeof postgres !== 'object' || postgres === null || Array.isArray(postgres)) {
    throw new TypeError(
      `${label} must be a postgres:// URL, pg.Pool settings or a pg.Pool, ` +
        `got ${describeValue(postgres)}.`,
    );
  }
}

function assertStoreOption(store: unknown): void {
  const label = 'DistributedLockModule option `store`';
  if (typeof store !== 'object' || store === null) {
    throw new TypeError(`${label} must be a LockStore, got ${describeValue(store)}.`);
  }
  const missing = STORE_METHODS.filter(
    (name) => typeof (store as Record<string, unknown>)[name] !== 'function',
  );
  if (missing.length > 0 || typeof (store as { distributed?: unknown }).distributed !== 'boolean') {
    const what = missing.length > 0 ? `methods ${missing.join(', ')}` : '`distributed` (a boolean)';
    throw new TypeError(`${label} must implement LockStore; it lacks ${what}.`);
  }
}
