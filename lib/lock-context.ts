import { AsyncLocalStorage } from 'node:async_hooks';
import type { LockHandle } from './lock-handle';

/** The locks an async call chain holds (inside `using` or `@WithLock`), by resource. */
export class LockContext {
  private readonly storage = new AsyncLocalStorage<ReadonlyMap<string, LockHandle>>();

  find(resourceId: string): LockHandle | undefined {
    return this.storage.getStore()?.get(resourceId);
  }

  /** Runs `fn` with `locks` added to what the current chain holds. */
  run<T>(locks: readonly LockHandle[], fn: () => T): T {
    const held = new Map(this.storage.getStore());
    for (const lock of locks) if (lock.isHeld()) held.set(lock.resource.id, lock);
    return this.storage.run(held, fn);
  }
}
