import type { LockOptions } from './interfaces/lock-options.interface';
import type { Lock } from './interfaces/lock.interface';
import { validateLockOptions } from './lock-options';
import type { LockService } from './lock.service';
import { describeValue } from './validation/describe-value';
import { PERMIT_OPTION_NAMES } from './validation/option-names';

/** Options of a permit acquisition: those of a lock, without `mode`. */
export type PermitOptions = Omit<LockOptions, 'mode'>;

/**
 * At most `permits` holders of one key at once, across every process, served first come,
 * first served. Each permit is a `Lock`: its own token, fencing token, lease and watchdog.
 */
export class Semaphore {
  /** Use `LockService.semaphore(key, permits)`, which checks its arguments. */
  constructor(
    /** The key the permits are counted under. */
    readonly key: string,
    /** How many holders the semaphore admits at once. */
    readonly permits: number,
    private readonly service: LockService,
  ) {}

  /** Takes a permit, waiting up to `waitTimeout`; rejects with `LockNotAcquiredError` after that. */
  async acquire(options?: PermitOptions): Promise<Lock> {
    validatePermitOptions(options);
    return this.service.acquirePermit(this.key, this.permits, options);
  }

  /** Takes a permit only if one is free now. */
  async tryAcquire(options?: Omit<PermitOptions, 'waitTimeout'>): Promise<Lock | null> {
    validatePermitOptions(options);
    return this.service.tryAcquirePermit(this.key, this.permits, options);
  }

  /** Runs `fn` holding a permit and always gives it back; resolves `fn`'s result. */
  async using<T>(fn: (permit: Lock) => T | Promise<T>, options?: PermitOptions): Promise<T> {
    // Checked before a permit is taken: a bad call must not hold up the semaphore's line.
    if (typeof fn !== 'function') {
      throw new TypeError(
        `Semaphore.using: the first argument must be a function, got ${describeValue(fn)}.`,
      );
    }
    const permit = await this.acquire(options);
    return this.service.runHolding(permit, () => fn(permit));
  }
}

/** Names `mode` as unknown too: the service would otherwise drop it silently. */
function validatePermitOptions(options: unknown): void {
  validateLockOptions(options, PERMIT_OPTION_NAMES, 'Semaphore option');
}
