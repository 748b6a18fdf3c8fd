/** How a lock shares its key: `'exclusive'` (one holder), or a read-write lock's `'read'` / `'write'`. */
export type LockMode = 'exclusive' | 'read' | 'write';

/** Options of one acquisition; each falls back to the module's setting. */
export interface LockOptions {
  /** Lease in ms: how long the lock lives in Redis unless renewed. Default: the module's `ttl` (30000). */
  ttl?: number;
  /** How long to wait for a held lock, in ms; 0 tries once. Default: the module's `waitTimeout` (10000). */
  waitTimeout?: number;
  /** Renew the lease while the lock is held (watchdog). Default: the module's `autoExtend` (true). */
  autoExtend?: boolean;
  /**
   * `'exclusive'` (default): one holder. `'read'`: any number of readers together, no writer.
   * `'write'`: one writer, no reader; the same as `'exclusive'`, and waiting writers are never
   * starved by new readers.
   */
  mode?: LockMode;
  /** Gives up waiting when aborted; the acquisition then rejects with the signal's reason. */
  signal?: AbortSignal;
}
