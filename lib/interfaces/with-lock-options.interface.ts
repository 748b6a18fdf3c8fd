import type { LockOptions } from './lock-options.interface';

/** Options of `@WithLock`; `ttl`, `waitTimeout` and `autoExtend` fall back to the module's. */
export interface WithLockOptions extends Omit<LockOptions, 'signal'> {
  /**
   * When the lock is held by someone else after `waitTimeout`: `'throw'` rejects with
   * `LockNotAcquiredError` (HTTP 409); `'skip'` resolves `undefined` without running the method,
   * and then `waitTimeout` defaults to 0. Default: `'throw'`.
   */
  onLocked?: 'throw' | 'skip';
  /**
   * When Redis cannot be reached: `'throw'` rejects with `LockStoreUnavailableError` (HTTP 503)
   * and the method does not run (fail closed); `'run'` logs a warning and runs the method
   * unlocked. Default: `'throw'`.
   */
  onUnavailable?: 'throw' | 'run';
}
