import { RENEW_AT_LEASE_FRACTION, RENEW_RETRY_MIN_MS } from './distributed-lock.constants';
import { MESSAGES } from './distributed-lock.messages';
import { LockLostError } from './errors/lock-lost.error';
import type { Lock } from './interfaces/lock.interface';
import type { LockResource } from './stores/lock-resource';
import type { LockStore } from './stores/lock-store.interface';

/** What a lock reports to the service that made it. */
export interface LockHandleHooks {
  /** The lock stopped being held here (released or lost): forget it. */
  settled(lock: LockHandle): void;
  lost(lock: LockHandle, error: LockLostError): void;
}

type LockState = 'held' | 'released' | 'lost';

/**
 * A held lock, its watchdog, and its hold count: the same call chain may take it again
 * (reentrancy); the store is released when the last hold is.
 */
export class LockHandle implements Lock {
  private state: LockState = 'held';
  private holds = 1;
  private ownHoldReleased = false;
  private controller: AbortController | undefined;
  private lostReason: LockLostError | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Local, conservative estimate of when the lease ends: measured from before the request. */
  private leaseEnd: number;

  constructor(
    readonly resource: LockResource,
    readonly token: string,
    readonly fencingToken: number,
    private ttl: number,
    private readonly autoExtend: boolean,
    requestedAt: number,
    private readonly store: LockStore,
    private readonly hooks: LockHandleHooks,
    /** Set when the store handed the lock over: the lease it was given so far. */
    handOverLeaseMs?: number,
  ) {
    this.handedOver = handOverLeaseMs !== undefined;
    this.leaseEnd = requestedAt + (handOverLeaseMs ?? ttl);
    if (handOverLeaseMs !== undefined && handOverLeaseMs < ttl) {
      // A hand-over lasts only as long as the waiter was known alive: top it up before it ends
      // (most short critical sections are over by then, and need no extra round trip).
      this.scheduleRenewal(Math.min(handOverLeaseMs / 2, ttl * RENEW_AT_LEASE_FRACTION));
    } else if (autoExtend) {
      this.scheduleRenewal(ttl * RENEW_AT_LEASE_FRACTION);
    }
  }

  private readonly handedOver: boolean;

  get key(): string {
    return this.resource.key;
  }

  /** Created on first read: most locks are never asked for their signal. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lostReason) this.controller.abort(this.lostReason);
    }
    return this.controller.signal;
  }

  get held(): boolean {
    return this.state === 'held';
  }

  /** Releases the hold this object stands for. */
  release(): Promise<boolean> {
    if (this.ownHoldReleased) return Promise.resolve(false);
    this.ownHoldReleased = true;
    return this.dropHold();
  }

  async extend(ttl: number = this.ttl): Promise<boolean> {
    assertTtl(ttl);
    if (this.state !== 'held') return false;
    const requestedAt = Date.now();
    const extended = await this.store.extend(this.resource, this.token, ttl);
    if (this.state !== 'held') return false;
    if (!extended) {
      this.markLost('it expired or another owner holds it');
      return false;
    }
    this.ttl = ttl;
    this.leaseEnd = requestedAt + ttl;
    if (this.autoExtend) this.scheduleRenewal(ttl * RENEW_AT_LEASE_FRACTION);
    return true;
  }

  /** Another hold by the same call chain; released on its own, the store only after the last. */
  reenter(): Lock {
    this.holds++;
    return new ReentrantHold(this);
  }

  /** @internal */
  async dropHold(): Promise<boolean> {
    if (this.state === 'released') return false;
    if (--this.holds > 0 && this.state === 'held') return true;
    const wasHeld = this.state === 'held';
    this.state = 'released';
    this.stopRenewal();
    if (wasHeld) this.hooks.settled(this);
    // A lost lock may still be ours in Redis (renewals failed on a flaky link): try anyway.
    return this.store.release(this.resource, this.token, this.handedOver);
  }

  /** Stops the watchdog without touching the store (service shutdown). */
  abandon(): void {
    this.stopRenewal();
    this.state = 'released';
  }

  private scheduleRenewal(delayMs: number): void {
    this.stopRenewal();
    this.renewTimer = setTimeout(() => void this.renew(), delayMs);
    // The watchdog alone must not keep a process alive.
    this.renewTimer.unref();
  }

  private stopRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async renew(): Promise<void> {
    this.renewTimer = undefined;
    if (this.state !== 'held') return;
    const requestedAt = Date.now();
    let extended: boolean;
    try {
      extended = await this.store.extend(this.resource, this.token, this.ttl);
    } catch (err) {
      if (this.state !== 'held') return;
      const left = this.leaseEnd - Date.now();
      if (left <= 0) {
        this.markLost(`renewals failed until the lease ended (${describeError(err)})`);
      } else {
        this.scheduleRenewal(Math.max(RENEW_RETRY_MIN_MS, left / 3));
      }
      return;
    }
    if (this.state !== 'held') return;
    if (!extended) {
      this.markLost('a renewal found it expired or held by another owner');
      return;
    }
    this.leaseEnd = requestedAt + this.ttl;
    if (this.autoExtend) this.scheduleRenewal(this.ttl * RENEW_AT_LEASE_FRACTION);
  }

  private markLost(why: string): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    this.stopRenewal();
    this.lostReason = new LockLostError(this.key, MESSAGES.lost(this.key, why));
    this.controller?.abort(this.lostReason);
    this.hooks.settled(this);
    this.hooks.lost(this, this.lostReason);
  }
}

/** What a reentrant acquisition returns: the same lock, with a hold of its own to release. */
class ReentrantHold implements Lock {
  private released = false;

  constructor(private readonly lock: LockHandle) {}

  get key(): string {
    return this.lock.key;
  }
  get token(): string {
    return this.lock.token;
  }
  get fencingToken(): number {
    return this.lock.fencingToken;
  }
  get signal(): AbortSignal {
    return this.lock.signal;
  }

  release(): Promise<boolean> {
    if (this.released) return Promise.resolve(false);
    this.released = true;
    return this.lock.dropHold();
  }

  extend(ttl?: number): Promise<boolean> {
    return this.lock.extend(ttl);
  }
}

export function assertTtl(ttl: unknown, name = 'ttl'): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1) {
    throw new TypeError(
      `Lock option \`${name}\` must be a positive integer of ms, got ${String(ttl)}.`,
    );
  }
}

export function describeError(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
