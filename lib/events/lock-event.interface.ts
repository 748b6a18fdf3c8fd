import type { LockMode } from '../interfaces/lock-options.interface';

/** What a held lock is: a lock in one of its modes, or a permit of a semaphore. */
export type LockEventMode = LockMode | 'permit';

/**
 * A lock was taken: by `acquire`, `tryAcquire`, `using`, `@WithLock`, a semaphore, or an
 * idempotency claim (whose `key` is then the hash of the idempotency key). Each key of a
 * multi-key lock is reported on its own.
 */
export interface LockAcquiredEvent {
  readonly type: 'acquired';
  /** The key as the caller gave it. */
  readonly key: string;
  /** How it is held: a lock's mode, or `'permit'` for a semaphore. */
  readonly mode: LockEventMode;
  /** The lock's fencing token. */
  readonly fencingToken: number;
  /** From the call to the lock (round trips included), in ms; 0 for a claim that did not wait. */
  readonly waitedMs: number;
}

/** Why a call did not get its lock. */
export type LockBusyReason = 'timeout' | 'skipped' | 'tryAcquire-miss';

/**
 * A call did not get its lock: `'timeout'` (it waited `waitTimeout` in vain: the call rejects
 * with `LockNotAcquiredError`), `'skipped'` (`@WithLock` with `onLocked: 'skip'`), or
 * `'tryAcquire-miss'` (`tryAcquire` found it taken).
 */
export interface LockBusyEvent {
  readonly type: 'busy';
  /** The key, or the keys of a multi-key call. */
  readonly key: string | readonly string[];
  /** Why the call went without. */
  readonly reason: LockBusyReason;
  /** How long the call waited, in ms. */
  readonly waitedMs: number;
}

/** A lock this process held was released (or left to expire with `holdAtLeast`). */
export interface LockReleasedEvent {
  readonly type: 'released';
  /** The key as the caller gave it. */
  readonly key: string;
  /** How long it was held, in ms. */
  readonly heldMs: number;
}

/** A renewal got no answer or an error; the lease still stands until its deadline. */
export interface LockRenewalFailedEvent {
  readonly type: 'renewal-failed';
  /** The key as the caller gave it. */
  readonly key: string;
  /** The store's error message. */
  readonly error: string;
}

/**
 * How a lost lock was found out: its lease ended before a renewal was confirmed, or a renewal
 * found it expired or held by another owner.
 */
export type LockLostDetection = 'lease-ended' | 'renewal-refused';

/** A held lock was lost (its `signal` aborts at the same time). */
export interface LockLostEvent {
  readonly type: 'lost';
  /** The key as the caller gave it. */
  readonly key: string;
  /** The lost lock's fencing token: writes with it must now be refused. */
  readonly fencingToken: number;
  /** How the loss was found out. */
  readonly detectedBy: LockLostDetection;
  /** The reason, as in the `LockLostError` message. */
  readonly detail: string;
}

/**
 * A store call failed or got no answer in time (the caller sees `LockStoreUnavailableError`,
 * or it is retried in the background).
 */
export interface LockStoreErrorEvent {
  readonly type: 'store-error';
  /** The store method: `'acquire'`, `'acquireFast'`, `'release'`, `'extend'`, `'claim'`, ... */
  readonly operation: string;
  /** The store's error message. */
  readonly error: string;
}

/** An idempotent call got the stored outcome of an earlier one. */
export interface IdempotencyReplayedEvent {
  readonly type: 'idempotency-replayed';
  /** The stored HTTP status (200 for `IdempotencyService.run`). */
  readonly status: number;
}

/** Why an idempotent call was refused. */
export type IdempotencyRejectedReason = 'fingerprint-mismatch' | 'in-flight';

/**
 * An idempotent call was refused: its key was used with another fingerprint (422), or a call
 * with its key is still running (409).
 */
export interface IdempotencyRejectedEvent {
  readonly type: 'idempotency-rejected';
  /** `'fingerprint-mismatch'` (answered 422) or `'in-flight'` (409). */
  readonly reason: IdempotencyRejectedReason;
}

/** A claim's lease ended before its outcome was stored: a retry may run the work again. */
export interface IdempotencyClaimLostEvent {
  readonly type: 'idempotency-claim-lost';
  /** The lost claim's fencing token. */
  readonly fencingToken: number;
}

/** This instance became or stopped being the leader of `name` (`LeaderElection`). */
export interface LeadershipEvent {
  readonly type: 'leadership';
  /** The leadership's name. */
  readonly name: string;
  /** Whether this instance leads from now on. */
  readonly leader: boolean;
  /** `'elected'`, `'lost'` (its lease could not be renewed or proven) or `'resigned'`. */
  readonly reason: 'elected' | 'lost' | 'resigned';
  /** The term's fencing token. */
  readonly fencingToken: number;
}

/**
 * Everything `LockEvents.events$` emits; `type` is also the last part of the
 * `node:diagnostics_channel` channel name (`nestjs-distributed-lock:<type>`). No event carries
 * a lock's owner token.
 */
export type LockEvent =
  | LockAcquiredEvent
  | LockBusyEvent
  | LockReleasedEvent
  | LockRenewalFailedEvent
  | LockLostEvent
  | LockStoreErrorEvent
  | IdempotencyReplayedEvent
  | IdempotencyRejectedEvent
  | IdempotencyClaimLostEvent
  | LeadershipEvent;

/** The `type` of a `LockEvent`. */
export type LockEventType = LockEvent['type'];
