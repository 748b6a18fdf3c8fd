import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import type { CallBound } from '../stores/call-bound';
import type { LockResource } from '../stores/lock-resource';
import type {
  AcquireMiss,
  ClaimReply,
  CompleteReply,
  LockStore,
  StoreHealth,
} from '../stores/lock-store.interface';
import type { Waiter } from '../stores/waiter';

/**
 * A store that simulates what tests need and a real store does at random: keys held by
 * "another process", and the store being down. Everything else is the wrapped store's.
 */
export class FaultInjectingStore implements LockStore {
  readonly distributed: boolean;
  /** Keys held elsewhere: every attempt on them misses. */
  readonly busy = new Set<string>();
  down = false;

  /** `distributed`: what the store stands in for (a test double of Redis: no in-memory warning). */
  constructor(
    private readonly inner: LockStore,
    distributed = inner.distributed,
  ) {
    this.distributed = distributed;
  }

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
    bound?: CallBound,
  ): Promise<number | AcquireMiss> {
    this.check();
    if (this.busy.has(resource.key)) return { retryInMs: -1 };
    return this.inner.acquire(resource, token, ttlMs, waiterLeaseMs, bound);
  }

  async acquireFast(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null> {
    this.check();
    if (this.busy.has(resource.key)) return null;
    return this.inner.acquireFast(resource, token, ttlMs, bound);
  }

  async release(
    resource: LockResource,
    token: string,
    handedOver: boolean,
    bound?: CallBound,
  ): Promise<boolean> {
    this.check();
    return this.inner.release(resource, token, handedOver, bound);
  }

  async extend(resource: LockResource, token: string, ttlMs: number, bound?: CallBound) {
    this.check();
    return this.inner.extend(resource, token, ttlMs, bound);
  }

  async leave(resource: LockResource, token: string, bound?: CallBound): Promise<void> {
    this.check();
    return this.inner.leave(resource, token, bound);
  }

  async isLocked(resource: LockResource, bound?: CallBound): Promise<boolean> {
    this.check();
    return this.busy.has(resource.key) || this.inner.isLocked(resource, bound);
  }

  async claim(
    resource: LockResource,
    token: string,
    ttlMs: number,
    fingerprint: string,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<ClaimReply> {
    this.check();
    return this.inner.claim(resource, token, ttlMs, fingerprint, retentionMs, bound);
  }

  async complete(
    resource: LockResource,
    token: string,
    fingerprint: string,
    response: string | null,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<CompleteReply> {
    this.check();
    return this.inner.complete(resource, token, fingerprint, response, retentionMs, bound);
  }

  addWaiter(resource: LockResource, token: string): Waiter {
    return this.inner.addWaiter(resource, token);
  }

  listen(waiter: Waiter, bound?: CallBound): Promise<boolean> {
    return this.inner.listen(waiter, bound);
  }

  removeWaiter(waiter: Waiter): void {
    this.inner.removeWaiter(waiter);
  }

  async health(): Promise<StoreHealth> {
    this.check();
    return this.inner.health();
  }

  checkSetup(): Promise<readonly string[]> {
    return this.inner.checkSetup();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private check(): void {
    if (this.down) {
      throw new LockStoreUnavailableError(new Error('the store is down (simulated)'));
    }
  }
}
