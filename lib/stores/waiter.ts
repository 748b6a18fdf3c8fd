/** The store handed the resource to a waiter: its fencing token, and the lease it has so far. */
export interface HandOver {
  readonly fencingToken: number;
  readonly leaseMs: number;
}

/**
 * One caller waiting for its turn on one resource. A wake-up that arrives while the caller is
 * busy (its attempt is in flight) is kept, so the next wait returns at once. A wake-up may carry
 * a hand-over: the store already gave the caller the resource.
 */
export class Waiter {
  private pending = false;
  private grant: HandOver | undefined;
  private resolveWait: (() => void) | undefined;

  constructor(
    readonly channel: string,
    readonly token: string,
  ) {}

  wake(handOver?: HandOver): void {
    if (handOver) this.grant = handOver;
    if (this.resolveWait) this.resolveWait();
    else this.pending = true;
  }

  /** The hand-over received so far, once. */
  takeGrant(): HandOver | undefined {
    const grant = this.grant;
    this.grant = undefined;
    return grant;
  }

  /** Resolves after `ms` or on a wake-up; rejects with the signal's reason when it aborts. */
  wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.resolveWait = undefined;
        this.pending = false;
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, ms);
      this.resolveWait = () => {
        done();
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
