/** A held lock. */
export interface Lock {
  /** The key as the caller gave it (without the module's prefix). */
  readonly key: string;
  /** Random 128-bit owner token stored in Redis while this lock is held. */
  readonly token: string;
  /** Strictly increasing for each key across every holder and process: pass it to the resource you guard. */
  readonly fencingToken: number;
  /**
   * Aborted (with a `LockLostError`) when the lock is lost: a renewal found it expired or owned
   * by another, or its lease ended (`validUntil`) before a renewal was confirmed.
   */
  readonly signal: AbortSignal;
  /**
   * Epoch ms until which this process can prove the lease: when the acquire or the last
   * confirmed renewal was sent, plus the lease, minus a drift allowance (1 % + 2 ms).
   */
  readonly validUntil: number;
  /** Whether the lock is still held: not released, not lost, and `validUntil` not reached. */
  isHeld(): boolean;
  /** Releases the lock. Idempotent: resolves `true` only for the call that released it. */
  release(): Promise<boolean>;
  /** Sets the lease to `ttl` ms from now (default: the lock's ttl). Resolves `false` if the lock was lost. */
  extend(ttl?: number): Promise<boolean>;
}

/** Several keys held together (all or none), taken in a deadlock-free order. */
export interface MultiLock {
  /** The keys as the caller gave them, deduplicated. */
  readonly keys: readonly string[];
  /** One lock per key, in the order they were taken. */
  readonly locks: readonly Lock[];
  /** Aborted when any of the locks is lost. */
  readonly signal: AbortSignal;
  /** The earliest `validUntil` of the locks. */
  readonly validUntil: number;
  /** Whether every lock is still held. */
  isHeld(): boolean;
  /** Releases every lock. Resolves `true` only when this call released all of them. */
  release(): Promise<boolean>;
  /** Extends every lock; `false` if any was lost. */
  extend(ttl?: number): Promise<boolean>;
}

/** What code running under a lock may read of it: never a way to release it early. */
export type HeldLock = Pick<
  Lock,
  'key' | 'token' | 'fencingToken' | 'signal' | 'validUntil' | 'isHeld'
>;
