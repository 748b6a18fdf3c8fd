import type { LockStore } from './lock-store.interface';

interface MemoryEntry {
  token: string;
  timer: NodeJS.Timeout;
}

/**
 * The same semantics as the Redis store (owner tokens, leases, fencing, owner-checked release
 * and extend) inside one process. Each instance is its own namespace.
 */
export class MemoryLockStore implements LockStore {
  readonly distributed = false;
  private readonly entries = new Map<string, MemoryEntry>();
  // One counter for all keys: strictly increasing per key too, and no entry outlives its lock.
  private lastFencingToken = 0;

  async tryAcquire(key: string, token: string, ttlMs: number): Promise<number | null> {
    if (this.entries.has(key)) return null;
    this.entries.set(key, { token, timer: this.expireLater(key, token, ttlMs) });
    return ++this.lastFencingToken;
  }

  async release(key: string, token: string): Promise<boolean> {
    const entry = this.entries.get(key);
    if (entry?.token !== token) return false;
    clearTimeout(entry.timer);
    this.entries.delete(key);
    return true;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    const entry = this.entries.get(key);
    if (entry?.token !== token) return false;
    clearTimeout(entry.timer);
    entry.timer = this.expireLater(key, token, ttlMs);
    return true;
  }

  async isLocked(key: string): Promise<boolean> {
    return this.entries.has(key);
  }

  async close(): Promise<void> {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }

  /** How many locks are held; for leak checks. */
  get size(): number {
    return this.entries.size;
  }

  private expireLater(key: string, token: string, ttlMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (this.entries.get(key)?.token === token) this.entries.delete(key);
    }, ttlMs);
    timer.unref();
    return timer;
  }
}
