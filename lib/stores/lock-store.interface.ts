/**
 * One backend of the lock engine. Every method is one atomic step (one round trip on Redis).
 * `key` is the full store key (prefix and hash tag included). Methods reject with a
 * `LockStoreUnavailableError` when the store cannot be reached or fails.
 */
export interface LockStore {
  /** Takes the lock if free. Resolves the new fencing token, or `null` when it is held. */
  tryAcquire(key: string, token: string, ttlMs: number): Promise<number | null>;
  /** Deletes the lock if `token` owns it. */
  release(key: string, token: string): Promise<boolean>;
  /** Resets the lease to `ttlMs` if `token` owns it. */
  extend(key: string, token: string, ttlMs: number): Promise<boolean>;
  isLocked(key: string): Promise<boolean>;
  /** Frees what the store owns (its connection, its timers). */
  close(): Promise<void>;
  /** Whether the store shares locks between processes. */
  readonly distributed: boolean;
}
