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
  /**
   * Keeps the lock at least this many ms after it was taken, even when the method ends sooner,
   * and then lets it expire unreleased (ShedLock's "lock at least for"). With
   * `onLocked: 'skip'` on a scheduled job, set it a little under the period: the job runs once
   * per period across the fleet, however the instances' timers are out of phase. Default: 0.
   */
  holdAtLeast?: number;
}
