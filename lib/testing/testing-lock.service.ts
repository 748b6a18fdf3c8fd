import { Injectable } from '@nestjs/common';
import type { DistributedLockModuleOptions } from '../interfaces/distributed-lock-module-options.interface';
import { LockService } from '../lock.service';
import { MemoryLockStore } from '../stores/memory-lock.store';
import type { LockStore } from '../stores/lock-store.interface';
import { FaultInjectingStore } from './fault-injecting.store';

const stores = new WeakMap<TestingLockService, FaultInjectingStore>();

/**
 * A `LockService` for tests: the real engine on the in-memory store, whatever `redis` says,
 * with switches for what is hard to bring about on purpose. Put it in place of the real one
 * with `overrideProvider(LockService).useClass(TestingLockService)`, or create it by hand.
 */
@Injectable()
export class TestingLockService extends LockService {
  /** Makes `key` look held by another process: acquisitions miss (409, or `skip`) until `free`. */
  holdElsewhere(key: string): void {
    this.faults.busy.add(key);
  }

  /** Ends `holdElsewhere(key)`. */
  free(key: string): void {
    this.faults.busy.delete(key);
  }

  /** Makes the store unreachable (503, fail closed) until called with `false`. */
  setStoreDown(down = true): void {
    this.faults.down = down;
  }

  /**
   * Loses every lock on `key` held here now, as a lease that could not be renewed: each
   * holder's `signal` aborts with a `LockLostError`. Resolves how many were lost.
   */
  loseLock(key: string): number {
    return this.loseHeld(key, 'it was lost on purpose (TestingLockService.loseLock)');
  }

  protected override createStore(): LockStore {
    // It stands in for Redis in tests: no warning that locks are not shared between processes.
    const store = new FaultInjectingStore(new MemoryLockStore(), true);
    stores.set(this, store);
    return store;
  }

  private get faults(): FaultInjectingStore {
    return stores.get(this) as FaultInjectingStore;
  }
}

/** Options a `TestingLockService` accepts: those of the module, minus the store. */
export type TestingLockOptions = Omit<DistributedLockModuleOptions, 'redis'>;
