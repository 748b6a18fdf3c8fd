export const DEFAULT_KEY_PREFIX = 'lock:';
/** Lease length; Redisson's watchdog default. */
export const DEFAULT_TTL_MS = 30_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
export const DEFAULT_AUTO_EXTEND = true;

/** Polling back-off while waiting for a held lock: starts small, doubles, capped, jittered. */
export const RETRY_MIN_DELAY_MS = 4;
export const RETRY_MAX_DELAY_MS = 100;

/** Renew a held lock after this share of its lease has passed (Redisson renews at a third). */
export const RENEW_AT_LEASE_FRACTION = 1 / 3;
/** Smallest pause between two failed renewal attempts. */
export const RENEW_RETRY_MIN_MS = 20;

/** Suffix of the per-key fencing counter; it shares the lock's hash tag, so one slot. */
export const FENCING_KEY_SUFFIX = ':fence';

export const LOCK_SERVICE_REF = Symbol.for('nestjs-distributed-lock:service');
export const WITH_LOCK_MARK = Symbol.for('nestjs-distributed-lock:with-lock');
export const LOGGER_CONTEXT = 'DistributedLock';
