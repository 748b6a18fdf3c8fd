import type { Lock, MultiLock } from './interfaces/lock.interface';

/** Several locks held together; released and extended together. */
export class MultiLockHandle implements MultiLock {
  private released = false;
  private combined: AbortSignal | undefined;

  constructor(
    readonly keys: readonly string[],
    readonly locks: readonly Lock[],
  ) {}

  get signal(): AbortSignal {
    this.combined ??= AbortSignal.any(this.locks.map((lock) => lock.signal));
    return this.combined;
  }

  get validUntil(): number {
    return Math.min(...this.locks.map((lock) => lock.validUntil));
  }

  isHeld(): boolean {
    return !this.released && this.locks.every((lock) => lock.isHeld());
  }

  async release(): Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    const results = await Promise.allSettled(this.locks.map((lock) => lock.release()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    return results.every((r) => r.status === 'fulfilled' && r.value);
  }

  async extend(ttl?: number): Promise<boolean> {
    const results = await Promise.all(this.locks.map((lock) => lock.extend(ttl)));
    return results.every(Boolean);
  }
}
