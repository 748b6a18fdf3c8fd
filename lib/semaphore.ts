import type { LockOptions } from './interfaces/lock-options.interface';
import type { Lock } from './interfaces/lock.interface';
import type { LockService } from './lock.service';

/** Options of a permit acquisition: those of a lock, without `mode`. */
export type PermitOptions = Omit<LockOptions, 'mode'>;

/**
 * At most `permits` holders of one key at once, across every process, served first come,
 * first served. Each permit is a `Lock`: its own token, fencing token, lease and watchdog.
 */
export class Semaphore {
  constructor(
    readonly key: string,
    readonly permits: number,
    private readonly service: LockService,
  ) {}

  /** Takes a permit, waiting up to `waitTimeout`; rejects with `LockNotAcquiredError` after that. */
  acquire(options?: PermitOptions): Promise<Lock> {
    return this.service.acquirePermit(this.key, this.permits, options);
  }

  /** Takes a permit only if one is free now. */
  tryAcquire(options?: Omit<PermitOptions, 'waitTimeout'>): Promise<Lock | null> {
    return this.service.tryAcquirePermit(this.key, this.permits, options);
  }

  /** Runs `fn` holding a permit and always gives it back; resolves `fn`'s result. */
  async using<T>(fn: (permit: Lock) => T | Promise<T>, options?: PermitOptions): Promise<T> {
    const permit = await this.acquire(options);
    return this.service.runHolding(permit, () => fn(permit));
  }
}
