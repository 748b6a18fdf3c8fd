import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import {
  LOGGER_CONTEXT,
  RETRY_MAX_DELAY_MS,
  RETRY_MIN_DELAY_MS,
} from './distributed-lock.constants';
import { MODULE_OPTIONS_TOKEN } from './distributed-lock.module-definition';
import { MESSAGES } from './distributed-lock.messages';
import { LockLostError } from './errors/lock-lost.error';
import { LockNotAcquiredError } from './errors/lock-not-acquired.error';
import { LockStoreUnavailableError } from './errors/lock-store-unavailable.error';
import type { DistributedLockModuleOptions } from './interfaces/distributed-lock-module-options.interface';
import type { LockOptions } from './interfaces/lock-options.interface';
import type { Lock, MultiLock } from './interfaces/lock.interface';
import type { WithLockOptions } from './interfaces/with-lock-options.interface';
import { LockHandle, LockHandleHooks } from './lock-handle';
import {
  ResolvedLockOptions,
  ResolvedModuleOptions,
  resolveLockOptions,
  resolveModuleOptions,
} from './lock-options';
import { newLockToken } from './lock-token';
import { MultiLockHandle } from './multi-lock-handle';
import { sleep } from './sleep';
import { createLockStore } from './stores/create-lock-store';
import type { LockStore } from './stores/lock-store.interface';

/** Services of the running Nest applications, for `@WithLock` on instances Nest did not bind. */
const liveServices = new Set<LockService>();

/** Takes, renews and releases distributed locks. */
@Injectable()
export class LockService implements OnModuleInit, OnApplicationShutdown {
  private readonly options: ResolvedModuleOptions;
  private readonly store: LockStore;
  private readonly held = new Set<LockHandle>();
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly hooks: LockHandleHooks = {
    settled: (lock) => this.held.delete(lock),
    lost: (_lock, error: LockLostError) => this.logger.warn(error.message),
  };

  constructor(
    @Optional() @Inject(MODULE_OPTIONS_TOKEN) options: DistributedLockModuleOptions = {},
  ) {
    this.options = resolveModuleOptions(options ?? {});
    this.store = createLockStore(options?.redis);
    if (!this.store.distributed) this.logger.warn(MESSAGES.inMemoryWarning);
  }

  /**
   * Takes the lock on `key`, waiting up to `waitTimeout` for it to be free; rejects with
   * `LockNotAcquiredError` after that. An array of keys is taken all or none.
   */
  acquire(key: string, options?: LockOptions): Promise<Lock>;
  acquire(keys: readonly string[], options?: LockOptions): Promise<MultiLock>;
  async acquire(key: string | readonly string[], options?: LockOptions): Promise<Lock | MultiLock> {
    const keys = normalizeKeys(key, 'acquire');
    const opts = resolveLockOptions(this.options, options);
    const started = Date.now();
    const lock = await this.take(key, keys, opts, started + opts.waitTimeout);
    if (!lock) throw new LockNotAcquiredError(key, Date.now() - started);
    return lock;
  }

  /** Takes the lock only if it is free now; never waits. */
  tryAcquire(key: string, options?: Omit<LockOptions, 'waitTimeout'>): Promise<Lock | null>;
  tryAcquire(
    keys: readonly string[],
    options?: Omit<LockOptions, 'waitTimeout'>,
  ): Promise<MultiLock | null>;
  async tryAcquire(
    key: string | readonly string[],
    options?: Omit<LockOptions, 'waitTimeout'>,
  ): Promise<Lock | MultiLock | null> {
    const keys = normalizeKeys(key, 'tryAcquire');
    const opts = resolveLockOptions(this.options, { ...options, waitTimeout: 0 });
    return this.take(key, keys, opts, Date.now());
  }

  /**
   * Runs `fn` holding the lock, renewing it while `fn` runs, and always releases it.
   * Resolves `fn`'s result; `fn`'s own error is never replaced by a release error.
   */
  using<T>(key: string, fn: (lock: Lock) => T | Promise<T>, options?: LockOptions): Promise<T>;
  using<T>(
    keys: readonly string[],
    fn: (lock: MultiLock) => T | Promise<T>,
    options?: LockOptions,
  ): Promise<T>;
  async using<T>(
    key: string | readonly string[],
    fn: ((lock: Lock) => T | Promise<T>) | ((lock: MultiLock) => T | Promise<T>),
    options?: LockOptions,
  ): Promise<T> {
    if (typeof fn !== 'function') {
      throw new TypeError('LockService.using: the second argument must be a function.');
    }
    const lock = await (this.acquire as (k: typeof key, o?: LockOptions) => Promise<Lock>)(
      key,
      options,
    );
    return this.runHolding(lock, () => (fn as (lock: Lock) => T | Promise<T>)(lock));
  }

  /** Whether someone holds the lock on `key` right now. */
  async isLocked(key: string): Promise<boolean> {
    normalizeKeys(key, 'isLocked');
    return this.store.isLocked(this.storeKey(key));
  }

  /** How many locks this service holds now (for leak checks and health endpoints). */
  get heldCount(): number {
    return this.held.size;
  }

  /** @internal The engine behind `@WithLock`: `keys` are already resolved and checked. */
  async runWithLock<T>(
    keys: readonly string[],
    fn: () => T | Promise<T>,
    options: WithLockOptions,
  ): Promise<T | undefined> {
    const skip = options.onLocked === 'skip';
    const opts = resolveLockOptions(this.options, {
      ttl: options.ttl,
      autoExtend: options.autoExtend,
      waitTimeout: options.waitTimeout ?? (skip ? 0 : undefined),
    });
    const started = Date.now();
    const key = keys.length === 1 ? keys[0] : keys;
    let lock: Lock | MultiLock | null;
    try {
      lock = await this.take(key, keys, opts, started + opts.waitTimeout);
    } catch (err) {
      if (err instanceof LockStoreUnavailableError && options.onUnavailable === 'run') {
        this.logger.warn(MESSAGES.runningUnlocked);
        return fn();
      }
      throw err;
    }
    if (!lock) {
      if (skip) return undefined;
      throw new LockNotAcquiredError(key, Date.now() - started);
    }
    return this.runHolding(lock, fn);
  }

  onModuleInit(): void {
    liveServices.add(this);
  }

  async onApplicationShutdown(): Promise<void> {
    liveServices.delete(this);
    // Locks still held stop being renewed and expire at the end of their lease: releasing them
    // here could let another holder in while this process's work is still running.
    for (const lock of this.held) lock.abandon();
    this.held.clear();
    await this.store.close();
  }

  /** @internal The only running service, when exactly one is running. */
  static soleLiveService(): LockService | undefined {
    if (liveServices.size !== 1) return undefined;
    return liveServices.values().next().value;
  }

  private async runHolding<T>(lock: Lock | MultiLock, fn: () => T | Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await this.releaseQuietly(lock);
      throw err;
    }
    await this.releaseQuietly(lock);
    return result;
  }

  /** A failed release must not hide the work's outcome; the lease ends it anyway. */
  private async releaseQuietly(lock: Lock | MultiLock): Promise<void> {
    try {
      await lock.release();
    } catch (err) {
      const keyText = 'key' in lock ? lock.key : lock.keys.join(', ');
      this.logger.warn(`${MESSAGES.releaseFailed(keyText)} (${describeError(err)})`);
    }
  }

  private take(
    key: string | readonly string[],
    keys: readonly string[],
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<Lock | MultiLock | null> {
    return typeof key === 'string'
      ? this.takeOne(key, opts, deadline)
      : this.takeAll(keys, opts, deadline);
  }

  private async takeOne(
    key: string,
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<LockHandle | null> {
    const storeKey = this.storeKey(key);
    const token = newLockToken();
    let delay = RETRY_MIN_DELAY_MS;
    for (;;) {
      opts.signal?.throwIfAborted();
      const requestedAt = Date.now();
      const fencingToken = await this.store.tryAcquire(storeKey, token, opts.ttl);
      if (fencingToken !== null) {
        const lock = new LockHandle(
          key,
          token,
          fencingToken,
          storeKey,
          opts.ttl,
          opts.autoExtend,
          requestedAt,
          this.store,
          this.hooks,
        );
        this.held.add(lock);
        if (opts.signal?.aborted) {
          await this.releaseQuietly(lock);
          opts.signal.throwIfAborted();
        }
        return lock;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return null;
      // Full jitter keeps waiters on one key from retrying in lockstep.
      await sleep(Math.min(remaining, delay / 2 + Math.random() * (delay / 2)), opts.signal);
      delay = Math.min(delay * 2, RETRY_MAX_DELAY_MS);
    }
  }

  /** All keys or none, always taken in sorted order so that two callers cannot deadlock. */
  private async takeAll(
    keys: readonly string[],
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<MultiLockHandle | null> {
    const ordered = [...keys].sort();
    const locks: LockHandle[] = [];
    try {
      for (const key of ordered) {
        const lock = await this.takeOne(key, opts, deadline);
        if (!lock) {
          await Promise.all(locks.map((held) => this.releaseQuietly(held)));
          return null;
        }
        locks.push(lock);
      }
    } catch (err) {
      await Promise.all(locks.map((held) => this.releaseQuietly(held)));
      throw err;
    }
    return new MultiLockHandle(keys, locks);
  }

  private storeKey(key: string): string {
    // The braces make the whole key the Redis Cluster hash tag, shared by its companion keys.
    return `${this.options.keyPrefix}{${key}}`;
  }
}

function normalizeKeys(key: unknown, method: string): readonly string[] {
  if (typeof key === 'string') {
    if (key.length === 0) throw new TypeError(`LockService.${method}: the key is empty.`);
    return [key];
  }
  if (Array.isArray(key)) {
    if (key.length === 0) throw new TypeError(`LockService.${method}: the key list is empty.`);
    for (const k of key) {
      if (typeof k !== 'string' || k.length === 0) {
        throw new TypeError(`LockService.${method}: every key must be a non-empty string.`);
      }
    }
    return [...new Set(key as string[])];
  }
  throw new TypeError(
    `LockService.${method}: the key must be a non-empty string or an array of them, got ${typeof key}.`,
  );
}

function describeError(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
