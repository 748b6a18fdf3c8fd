/** Messages of the PostgreSQL store. */
export const POSTGRES_MESSAGES = {
  driverMissing:
    'DistributedLockModule option `postgres` needs the `pg` package, which is not installed: ' +
    'run `npm install pg`.',
  modeNotSupported: (key: string, mode: 'r' | 's') =>
    `${mode === 'r' ? 'Read locks' : 'Semaphores'} are not supported on the PostgreSQL store ` +
    `(key "${key}"): use exclusive locks, or the Redis store.`,
  closed: 'the lock store is closed',
  listenerError: (detail: string) =>
    `PostgreSQL wake-up connection error: ${detail}. Waiters fall back to re-checking on their interval.`,
};
