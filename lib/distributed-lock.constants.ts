export const DEFAULT_KEY_PREFIX = 'lock:';
/** Lease length; Redisson's watchdog default. */
export const DEFAULT_TTL_MS = 30_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
export const DEFAULT_AUTO_EXTEND = true;

export const DEFAULT_RECHECK_INTERVAL_MS = 1_000;
export const DEFAULT_REENTRANT = false;
/**
 * A waiter keeps its place in line this many re-check intervals after it last looked; a waiter
 * that died is dropped from the line after that.
 */
export const WAITER_LEASE_RECHECKS = 3;

/** Renew a held lock after this share of its lease has passed (Redisson renews at a third). */
export const RENEW_AT_LEASE_FRACTION = 1 / 3;
/** Smallest pause between two failed renewal attempts. */
export const RENEW_RETRY_MIN_MS = 20;
/**
 * A lease is proven until the moment its acquire or renewal was sent, plus the lease, minus
 * this share of it plus `LEASE_DRIFT_MIN_MS`: room for the two clocks' rates to differ (the
 * Redlock paper's drift allowance).
 */
export const LEASE_DRIFT_FACTOR = 0.01;
export const LEASE_DRIFT_MIN_MS = 2;
/** How long a new lock waits for `syncReplicas` confirmations by default. */
export const DEFAULT_SYNC_TIMEOUT_MS = 1_000;
/** Default bound of one Redis command, reconnect wait and retries included. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
/** Pauses between retries of a command that Redis refused for now (TRYAGAIN, reconnecting). */
export const RETRY_BACKOFF_MIN_MS = 10;
export const RETRY_BACKOFF_MAX_MS = 200;

export const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Stripe keeps idempotency keys for 24 hours. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_IDEMPOTENCY_LEASE_MS = 30_000;
/** The longest key the Idempotency-Key draft's examples and Stripe accept. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Key namespaces inside the prefix, so a lock and a semaphore of one name never collide. */
export const LOCK_NAMESPACE = '';
export const SEMAPHORE_NAMESPACE = 'sem:';
export const IDEMPOTENCY_NAMESPACE = 'idem:';

export const LOCK_SERVICE_REF = Symbol.for('nestjs-distributed-lock:service');
export const IDEMPOTENT_OPTIONS = 'nestjs-distributed-lock:idempotent';
export const WITH_LOCK_MARK = Symbol.for('nestjs-distributed-lock:with-lock');
export const LOGGER_CONTEXT = 'DistributedLock';
