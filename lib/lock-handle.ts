import { monotonicNow, toEpochMs } from './clock';
import {
  LEASE_DRIFT_FACTOR,
  LEASE_DRIFT_MIN_MS,
  RENEW_AT_LEASE_FRACTION,
  RENEW_RETRY_MIN_MS,
} from './distributed-lock.constants';
import { MESSAGES } from './distributed-lock.messages';
import { LockLostError } from './errors/lock-lost.error';
import { publishLost, publishReleased, publishRenewalFailed } from './events/lock-event-channels';
import type { LockLostDetection } from './events/lock-event.interface';
import type { Lock } from './interfaces/lock.interface';
import type { LockResource } from './stores/lock-resource';
import type { LockStore } from './stores/lock-store.interface';
import { assertTimerMs } from './validation/number-options';

/** What a lock reports to the service that made it. */
export interface LockHandleHooks {
  /** Whose events the lock's events are (the service), for `LockEvents`. */
  readonly eventSource: object;
  /** The lock stopped being held here (released or lost): forget it. */
  settled(lock: LockHandle): void;
  lost(lock: LockHandle, error: LockLostError): void;
  /** Releases `lock` in the store, retrying a failure until the store's lease is surely over. */
  release(lock: LockHandle): Promise<boolean>;
}

type LockState = 'held' | 'released' | 'lost';

/** The part of a lease that the client cannot count on: the clocks' rates may differ. */
export function leaseDrift(leaseMs: number): number {
  return leaseMs * LEASE_DRIFT_FACTOR + LEASE_DRIFT_MIN_MS;
}

/** The end of a lease granted by a request sent at `sentAt` (monotonic), as the client can prove it. */
export function provenLeaseEnd(sentAt: number, leaseMs: number): number {
  return sentAt + leaseMs - leaseDrift(leaseMs);
}

/**
 * A held lock, its watchdog, and its hold count: the same call chain may take it again
 * (reentrancy); the store is released when the last hold is.
 *
 * The lock is held until `deadline` (monotonic ms): the moment its acquire or its last
 * confirmed renewal was sent, plus the lease, minus the drift allowance. One timer serves it:
 * armed for the next renewal, or for the deadline while a renewal is in flight or none is due.
 * At the deadline, unless a renewal confirmed a later lease, the lock is lost whatever the
 * network does.
 */
export class LockHandle implements Lock {
  private state: LockState = 'held';
  /** When it was taken (monotonic), for the released event. */
  private readonly heldSince = monotonicNow();
  private holds = 1;
  private ownHoldReleased = false;
  private controller: AbortController | undefined;
  private lostReason: LockLostError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** When the next renewal is due (monotonic); Infinity when none is. */
  private renewAt = Infinity;
  /** The latest moment (monotonic) at which the store may still hold this lock. */
  private storeLeaseEnd: number;
  /** The last renewal's failure, for the lost-lock message; cleared by a confirmed renewal. */
  private lastRenewalError: string | undefined;
  /** The store handed this lock over (its release then takes the path that hands over too). */
  private readonly handedOver: boolean;

  constructor(
    readonly resource: LockResource,
    readonly token: string,
    readonly fencingToken: number,
    private ttl: number,
    private readonly autoExtend: boolean,
    /** Monotonic ms until which the lease is proven. */
    private deadline: number,
    private readonly store: LockStore,
    private readonly hooks: LockHandleHooks,
    /** The lease the store granted so far, when shorter than `ttl` (a hand-over). */
    grantedLeaseMs: number = ttl,
  ) {
    this.handedOver = grantedLeaseMs !== ttl;
    this.storeLeaseEnd = monotonicNow() + grantedLeaseMs;
    const left = deadline - monotonicNow();
    if (grantedLeaseMs < ttl) {
      // A hand-over lasts only as long as the waiter was known alive: top it up before it ends
      // (most short critical sections are over by then, and need no extra round trip).
      this.renewAt = monotonicNow() + Math.min(left / 2, ttl * RENEW_AT_LEASE_FRACTION);
    } else if (autoExtend) {
      this.renewAt = monotonicNow() + ttl * RENEW_AT_LEASE_FRACTION;
    }
    this.arm();
  }

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

  /** Epoch ms until which the lease is proven; in the past once released or lost. */
  get validUntil(): number {
    return toEpochMs(
      this.state === 'held' ? this.deadline : Math.min(this.deadline, monotonicNow()),
    );
  }

  isHeld(): boolean {
    if (this.state === 'held' && monotonicNow() >= this.deadline) this.expire();
    return this.state === 'held';
  }

  /** @internal The store-side facts a release needs. */
  get releaseInfo(): { handedOver: boolean; storeLeaseEnd: number } {
    return { handedOver: this.handedOver, storeLeaseEnd: this.storeLeaseEnd };
  }

  /** Releases the hold this object stands for. */
  release(): Promise<boolean> {
    if (this.ownHoldReleased) return Promise.resolve(false);
    this.ownHoldReleased = true;
    return this.dropHold();
  }

  async extend(ttl: number = this.ttl): Promise<boolean> {
    assertTimerMs(ttl, 'ttl', 'lock.extend:');
    if (!this.isHeld()) return false;
    const outcome = await this.sendRenewal(ttl);
    if (outcome instanceof Error) {
      // The lease stands until its deadline; the watchdog (if on) keeps trying.
      this.arm();
      throw outcome;
    }
    if (outcome === 'failed') return false;
    this.ttl = ttl;
    if (this.autoExtend) this.renewAt = monotonicNow() + ttl * RENEW_AT_LEASE_FRACTION;
    this.arm();
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
    if (--this.holds > 0 && this.isHeld()) return true;
    const wasHeld = this.isHeld();
    this.state = 'released';
    this.stop();
    if (wasHeld) this.hooks.settled(this);
    if (wasHeld) publishReleased(this.hooks.eventSource, this.key, this.heldSince);
    // A lost lock may still be ours in the store (renewals failed on a flaky link): try anyway.
    return this.hooks.release(this);
  }

  /** @internal The store already let go of it (a script ended it along with other work). */
  releasedInStore(): void {
    if (this.state === 'released') return;
    const wasHeld = this.isHeld();
    this.ownHoldReleased = true;
    this.holds = 0;
    this.state = 'released';
    this.stop();
    if (wasHeld) this.hooks.settled(this);
    if (wasHeld) publishReleased(this.hooks.eventSource, this.key, this.heldSince);
  }

  /** @internal Loses the lock now (a test double simulating a lost lease). */
  lose(why: string): void {
    this.markLost(why, 'renewal-refused');
  }

  /**
   * @internal Lets the lock end by itself: the watchdog stops and the store's lease runs out
   * (`holdAtLeast`). It no longer counts as held here.
   */
  leaveToExpire(): void {
    this.releasedInStore();
  }

  /** Stops the watchdog without touching the store (service shutdown). */
  abandon(): void {
    this.stop();
    this.state = 'released';
  }

  private arm(): void {
    this.stop();
    if (this.state !== 'held') return;
    const at = this.renewing ? this.deadline : Math.min(this.deadline, this.renewAt);
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - monotonicNow()));
    // The watchdog alone must not keep a process alive.
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    if (this.state !== 'held') return;
    if (monotonicNow() >= this.deadline) {
      this.expire();
      return;
    }
    if (!this.renewing && monotonicNow() >= this.renewAt) {
      void this.renew();
      return;
    }
    this.arm();
  }

  private expire(): void {
    this.markLost(
      this.renewing || this.lastRenewalError
        ? `its lease ended before a renewal was confirmed (${this.lastRenewalError ?? 'no reply'})`
        : 'its lease ended',
      'lease-ended',
    );
  }

  /**
   * One renewal, bounded by the current deadline. 'renewed': the lease now runs `ttl` from
   * when it was sent; 'failed': the lock is lost; an error: no answer, the lease stands.
   */
  private async sendRenewal(ttl: number): Promise<'renewed' | 'failed' | Error> {
    const sentAt = monotonicNow();
    this.renewing = true;
    this.arm();
    let extended: boolean;
    try {
      extended = await this.store.extend(this.resource, this.token, ttl, {
        deadline: this.deadline,
      });
    } catch (err) {
      this.lastRenewalError = describeError(err);
      this.storeLeaseEnd = Math.max(this.storeLeaseEnd, this.deadline + ttl);
      if (this.state !== 'held') return 'failed';
      publishRenewalFailed(this.hooks.eventSource, this.key, this.lastRenewalError);
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      this.renewing = false;
    }
    if (this.state !== 'held') return 'failed';
    if (!extended) {
      this.markLost('a renewal found it expired or held by another owner', 'renewal-refused');
      return 'failed';
    }
    const repliedAt = monotonicNow();
    // A reply after the deadline proves nothing: the lock was already reported lost then.
    if (repliedAt >= this.deadline) {
      this.expire();
      return 'failed';
    }
    this.lastRenewalError = undefined;
    // The store now ends the lease `ttl` after it ran this renewal, sooner too if `ttl` is shorter.
    this.deadline = provenLeaseEnd(sentAt, ttl);
    this.storeLeaseEnd = Math.max(this.storeLeaseEnd, repliedAt + ttl);
    return 'renewed';
  }

  private async renew(): Promise<void> {
    if (this.state !== 'held') return;
    const outcome = await this.sendRenewal(this.ttl);
    if (outcome === 'failed' || this.state !== 'held') return;
    if (!(outcome instanceof Error)) {
      this.renewAt = this.autoExtend
        ? monotonicNow() + this.ttl * RENEW_AT_LEASE_FRACTION
        : Infinity;
    } else {
      // Try again while the lease lasts; the deadline timer ends it otherwise.
      const left = this.deadline - monotonicNow();
      this.renewAt = monotonicNow() + Math.max(RENEW_RETRY_MIN_MS, left / 3);
    }
    this.arm();
  }

  private markLost(why: string, detectedBy: LockLostDetection): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    this.stop();
    this.lostReason = new LockLostError(this.key, MESSAGES.lost(this.key, why));
    this.hooks.settled(this);
    this.hooks.lost(this, this.lostReason);
    publishLost(this.hooks.eventSource, this.key, this.fencingToken, detectedBy, why);
    this.controller?.abort(this.lostReason);
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
  get validUntil(): number {
    return this.lock.validUntil;
  }

  isHeld(): boolean {
    return !this.released && this.lock.isHeld();
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

export function describeError(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
