import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { isObservable } from 'rxjs';
import { BackgroundRetries } from './background-retries';
import { monotonicNow } from './clock';
import {
  LOCK_NAMESPACE,
  LOGGER_CONTEXT,
  SEMAPHORE_NAMESPACE,
  WAITER_LEASE_RECHECKS,
} from './distributed-lock.constants';
import { MODULE_OPTIONS_TOKEN } from './distributed-lock.module-definition';
import { MESSAGES } from './distributed-lock.messages';
import { LockLostError } from './errors/lock-lost.error';
import { LockNotAcquiredError } from './errors/lock-not-acquired.error';
import { LockStoreUnavailableError } from './errors/lock-store-unavailable.error';
import type { DistributedLockModuleOptions } from './interfaces/distributed-lock-module-options.interface';
import type { LockOptions } from './interfaces/lock-options.interface';
import type { HeldLock, Lock, MultiLock } from './interfaces/lock.interface';
import type { WithLockOptions } from './interfaces/with-lock-options.interface';
import { LockContext } from './lock-context';
import { describeError, LockHandle, LockHandleHooks, provenLeaseEnd } from './lock-handle';
import {
  ResolvedLockOptions,
  ResolvedModuleOptions,
  resolveLockOptions,
  resolveModuleOptions,
} from './lock-options';
import { newLockToken } from './lock-token';
import { MultiLockHandle } from './multi-lock-handle';
import { ClaimEngine } from './idempotency/claim-engine';
import type { IdempotencyOptions } from './interfaces/idempotency-options.interface';
import { holdUntilSettled } from './observable-hold';
import { Semaphore } from './semaphore';
import { createLockStore, createPluggedStore } from './stores/create-lock-store';
import { publishAcquired, publishBusy, publishStoreErrors } from './events/lock-event-channels';
import { HoldMode, LockResource, lockResource } from './stores/lock-resource';
import { CallBound, reachedBound } from './stores/call-bound';
import type { LockStore, StoreHealth } from './stores/lock-store.interface';
import { describeType, describeValue } from './validation/describe-value';
import { assertPermits } from './validation/number-options';

/** The shortest bound a store call gets, even when the wait deadline is closer. */
const MIN_CALL_MS = 25;

/** Options that are spread must be an object first: a string would spread into its letters. */
function objectOf<T extends object>(options: T | undefined): T | undefined {
  if (options === undefined || (typeof options === 'object' && options !== null)) return options;
  throw new TypeError(`Lock options must be an object, got ${describeValue(options)}.`);
}

/** A store call cut short by the wait's own deadline: the lock was not had in time. */
function outOfTime(err: unknown, deadline: number): boolean {
  return (
    monotonicNow() >= deadline && err instanceof LockStoreUnavailableError && reachedBound(err)
  );
}

function isAbort(err: unknown, opts: ResolvedLockOptions): boolean {
  return opts.signal?.aborted === true && err === opts.signal.reason;
}

/** Services of the running Nest applications, for `@WithLock` on instances Nest did not bind. */
const liveServices = new Set<LockService>();
/**
 * Services created and not yet closed, initialised or not: a testing module compiled without
 * `init()` (the spec `nest g controller` writes) still gives `@WithLock` its service.
 */
const openServices = new Set<LockService>();

type Held = Lock | MultiLock;

/** Takes, renews and releases distributed locks, read-write locks and semaphores. */
@Injectable()
export class LockService implements OnModuleInit, OnApplicationShutdown {
  private readonly options: ResolvedModuleOptions;
  private readonly store: LockStore;
  private readonly held = new Set<LockHandle>();
  private readonly context = new LockContext();
  private readonly waiterLease: number;
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private closing = false;
  /** Releases and leaves whose reply was lost, repeated until the store's lease is surely over. */
  private readonly retries = new BackgroundRetries();
  private readonly hooks: LockHandleHooks = {
    eventSource: this,
    settled: (lock) => this.held.delete(lock),
    lost: (_lock, error: LockLostError) => this.logger.warn(error.message),
    release: (lock) => this.releaseInStore(lock),
  };

  /** Nest passes the module's options; without Nest, `new LockService(options)`, then `close()`. */
  constructor(
    @Optional() @Inject(MODULE_OPTIONS_TOKEN) options: DistributedLockModuleOptions = {},
  ) {
    this.options = resolveModuleOptions(options ?? {});
    this.waiterLease = this.options.recheckInterval * WAITER_LEASE_RECHECKS;
    this.store = publishStoreErrors(this.createStore(options ?? {}), this);
    openServices.add(this);
    if (!this.store.distributed) this.logger.warn(MESSAGES.inMemoryWarning);
    this.claims = new ClaimEngine({
      store: this.store,
      keyPrefix: this.options.keyPrefix,
      commandTimeout: this.options.commandTimeout,
      retries: this.retries,
      hold: (resource, token, fence, opts, provenUntil) => {
        const lock = this.hold(resource, token, fence, opts, provenUntil);
        publishAcquired(this, lock, opts.mode, 0);
        return lock;
      },
      take: (resource, opts, deadline) =>
        this.takeOne(resource, opts, deadline) as Promise<LockHandle | null>,
      abandonAttempt: (resource, token, ttl) => this.abandonAttempt(resource, token, ttl),
    });
  }

  /**
   * @internal The store behind the service, made once by the constructor: a test double
   * (`nestjs-distributed-lock/testing`) puts one that can simulate faults in its place.
   */
  protected createStore(options: DistributedLockModuleOptions): LockStore {
    const plugged = createPluggedStore(options, this.options.commandTimeout);
    if (plugged) return plugged;
    return createLockStore(
      options.redis,
      this.options.commandTimeout,
      { replicas: this.options.syncReplicas, timeoutMs: this.options.syncTimeout },
      options.redlock,
      options.etcd,
    );
  }

  /** @internal Makes every lock on `key` held here lost now, as a lost lease would. */
  protected loseHeld(key: string, why: string): number {
    let lost = 0;
    for (const lock of [...this.held]) {
      if (lock.key !== key) continue;
      lock.lose(why);
      lost++;
    }
    return lost;
  }

  /** @internal Idempotency claims, on this service's store and engine. */
  readonly claims: ClaimEngine;

  /** @internal The module's `idempotency` defaults and `waitTimeout`. */
  get idempotencyDefaults(): { options: IdempotencyOptions | undefined; waitTimeout: number } {
    return { options: this.options.idempotency, waitTimeout: this.options.waitTimeout };
  }

  /**
   * Takes the lock on `key`, waiting up to `waitTimeout` for it to be free; rejects with
   * `LockNotAcquiredError` after that. An array of keys is taken all or none.
   */
  acquire(key: string, options?: LockOptions): Promise<Lock>;
  /** Takes the locks on all `keys` or none, waiting up to `waitTimeout`, as for one key. */
  acquire(keys: readonly string[], options?: LockOptions): Promise<MultiLock>;
  async acquire(key: string | readonly string[], options?: LockOptions): Promise<Held> {
    return this.takeOrThrow(key, normalizeKeys(key, 'acquire'), options);
  }

  /** Takes the lock only if it is free now; never waits. */
  tryAcquire(key: string, options?: Omit<LockOptions, 'waitTimeout'>): Promise<Lock | null>;
  /** Takes the locks on all `keys` only if all are free now; never waits. */
  tryAcquire(
    keys: readonly string[],
    options?: Omit<LockOptions, 'waitTimeout'>,
  ): Promise<MultiLock | null>;
  async tryAcquire(
    key: string | readonly string[],
    options?: Omit<LockOptions, 'waitTimeout'>,
  ): Promise<Held | null> {
    const keys = normalizeKeys(key, 'tryAcquire');
    const opts = resolveLockOptions(this.options, { ...objectOf(options), waitTimeout: 0 });
    const started = monotonicNow();
    const lock = await this.take(key, keys, opts, started);
    if (!lock) publishBusy(this, key, 'tryAcquire-miss', started);
    return lock;
  }

  /**
   * Runs `fn` holding the lock, renewing it while `fn` runs, and always releases it.
   * Resolves `fn`'s result; `fn`'s own error is never replaced by a release error.
   */
  using<T>(key: string, fn: (lock: Lock) => T | Promise<T>, options?: LockOptions): Promise<T>;
  /** Runs `fn` holding the locks on all `keys` (taken all or none) and always releases them. */
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
    const lock = await this.takeOrThrow(key, normalizeKeys(key, 'using'), options);
    return this.runHolding(lock, () => (fn as (lock: Held) => T | Promise<T>)(lock));
  }

  /**
   * The lock on `key` that the current call chain holds (inside `using` or a `@WithLock`
   * method), to read its fencing token or watch its signal; `undefined` when it holds none,
   * or when `reentrant` is off (the call chain is then not tracked).
   */
  current(key: string): HeldLock | undefined {
    assertSingleKey(key, 'current');
    const lock = this.context.find(this.resource(key, 'x').id);
    if (!lock?.isHeld()) return undefined;
    return {
      key: lock.key,
      token: lock.token,
      fencingToken: lock.fencingToken,
      get signal() {
        return lock.signal;
      },
      get validUntil() {
        return lock.validUntil;
      },
      isHeld: () => lock.isHeld(),
    };
  }

  /** Whether someone holds the lock on `key` right now (in any mode). */
  async isLocked(key: string): Promise<boolean> {
    assertSingleKey(key, 'isLocked');
    return this.store.isLocked(this.resource(key, 'x'));
  }

  /**
   * A semaphore: at most `permits` holders of `key` at once, across every process. A holder
   * that dies gives its permit back when its lease ends.
   */
  semaphore(key: string, permits: number): Semaphore {
    assertSingleKey(key, 'semaphore');
    assertPermits(permits, 'LockService.semaphore');
    return new Semaphore(key, permits, this);
  }

  /** @internal The store's reachability for health checks: a read-only round trip, no writes. */
  storeHealth(): Promise<StoreHealth> {
    return this.store.health();
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
    permits = 0,
  ): Promise<T | undefined> {
    const skip = options.onLocked === 'skip';
    const opts = resolveLockOptions(this.options, {
      ttl: options.ttl,
      autoExtend: options.autoExtend,
      mode: options.mode,
      waitTimeout: options.waitTimeout ?? (skip ? 0 : undefined),
    });
    const started = monotonicNow();
    const key = keys.length === 1 ? keys[0] : keys;
    let lock: Held | null;
    try {
      lock =
        permits > 0
          ? await this.takePermit(keys[0], permits, opts, started + opts.waitTimeout)
          : await this.take(key, keys, opts, started + opts.waitTimeout);
    } catch (err) {
      if (err instanceof LockStoreUnavailableError && options.onUnavailable === 'run') {
        this.logger.warn(MESSAGES.runningUnlocked);
        return fn();
      }
      throw err;
    }
    if (!lock) {
      publishBusy(this, key, skip ? 'skipped' : 'timeout', started);
      if (skip) return undefined;
      throw new LockNotAcquiredError(key, Math.round(monotonicNow() - started));
    }
    const holdAtLeast = options.holdAtLeast ?? 0;
    return this.runHolding(lock, fn, holdAtLeast > 0 ? monotonicNow() + holdAtLeast : 0);
  }

  /** @internal A permit of a semaphore, waiting up to `waitTimeout`; used by `Semaphore`. */
  async acquirePermit(
    key: string,
    permits: number,
    options: Omit<LockOptions, 'mode'> | undefined,
  ): Promise<Lock> {
    const opts = resolveLockOptions(this.options, { ...options, mode: undefined });
    const started = monotonicNow();
    const permit = await this.takePermit(key, permits, opts, started + opts.waitTimeout);
    if (!permit) {
      publishBusy(this, key, 'timeout', started);
      throw new LockNotAcquiredError(key, Math.round(monotonicNow() - started));
    }
    return permit;
  }

  /** @internal A permit of a semaphore if one is free now; used by `Semaphore`. */
  async tryAcquirePermit(
    key: string,
    permits: number,
    options: Omit<LockOptions, 'mode' | 'waitTimeout'> | undefined,
  ): Promise<Lock | null> {
    const opts = resolveLockOptions(this.options, { ...options, waitTimeout: 0, mode: undefined });
    const started = monotonicNow();
    const permit = await this.takePermit(key, permits, opts, started);
    if (!permit) publishBusy(this, key, 'tryAcquire-miss', started);
    return permit;
  }

  private takePermit(
    key: string,
    permits: number,
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<Lock | null> {
    return this.takeOne(this.resource(key, 's', permits), opts, deadline);
  }

  /**
   * @internal Runs `fn` holding `lock` (inside its reentrancy scope) and always releases it;
   * an Observable `fn` returns holds it until it settles (see `holdUntilSettled`). With
   * `holdUntil` (monotonic ms), a lock let go sooner is left to expire then instead.
   */
  async runHolding<T>(lock: Held, fn: () => T | Promise<T>, holdUntil = 0): Promise<T> {
    const letGo = (): Promise<void> =>
      holdUntil > monotonicNow() ? this.keepUntil(lock, holdUntil) : this.releaseQuietly(lock);
    let result: T;
    try {
      result = await this.inScope(lock, fn);
    } catch (err) {
      await letGo();
      throw err;
    }
    if (isObservable(result)) {
      return holdUntilSettled(result, {
        lock,
        subscribeWithinMs: this.options.ttl,
        logger: this.logger,
        inScope: (subscribe) => this.inScope(lock, subscribe),
        release: letGo,
      }) as T;
    }
    await letGo();
    return result;
  }

  /** Nest's init hook: checks the store's setup (eviction policy) as `evictionPolicy` says. */
  async onModuleInit(): Promise<void> {
    liveServices.add(this);
    if (this.options.evictionPolicy === 'ignore') return;
    let problems: readonly string[];
    try {
      problems = await this.store.checkSetup();
    } catch (err) {
      this.logger.warn(MESSAGES.setupUnchecked(describeError(err)));
      return;
    }
    if (problems.length > 0 && this.options.evictionPolicy === 'throw')
      throw new Error(problems.join(' '));
    for (const problem of problems) this.logger.warn(problem);
  }

  /** Nest's shutdown hook: stops renewals (held locks expire with their lease), closes the store. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    liveServices.delete(this);
    openServices.delete(this);
    // Locks still held stop being renewed and expire at the end of their lease: releasing them
    // here could let another holder in while this process's work is still running.
    for (const lock of this.held) lock.abandon();
    this.held.clear();
    this.retries.cancelAll();
    await this.store.close();
  }

  /** @internal The only running service, when exactly one is running. */
  static soleLiveService(): LockService | undefined {
    // Before any init (a testing module compiled and never initialised), the only open one.
    const candidates = liveServices.size > 0 ? liveServices : openServices;
    if (candidates.size !== 1) return undefined;
    return candidates.values().next().value;
  }

  /** @internal How many Nest applications with this module are running (or open, before any init). */
  static liveServiceCount(): number {
    return liveServices.size > 0 ? liveServices.size : openServices.size;
  }

  /** Closes the service when used without Nest: the same as Nest's shutdown hook. */
  close(): Promise<void> {
    return this.onApplicationShutdown();
  }

  private inScope<T>(lock: Held, fn: () => T | Promise<T>): T | Promise<T> {
    const handles = ('locks' in lock ? lock.locks : [lock]).filter(
      (l): l is LockHandle => l instanceof LockHandle && l.resource.mode !== 's',
    );
    return handles.length > 0 ? this.context.run(handles, fn) : fn();
  }

  /**
   * `holdAtLeast`: the lock stays taken until `until` (monotonic ms) and then expires in the
   * store, unrenewed, as ShedLock's lock-at-least-for does. A lock this chain re-entered, or one
   * that cannot be extended to then, is released as usual.
   */
  private async keepUntil(lock: Held, until: number): Promise<void> {
    const handles = 'locks' in lock ? lock.locks : [lock];
    if (!handles.every((h): h is LockHandle => h instanceof LockHandle)) {
      return this.releaseQuietly(lock);
    }
    try {
      const left = Math.ceil(until - monotonicNow());
      if (left < 1 || !(await lock.extend(left))) return this.releaseQuietly(lock);
    } catch {
      return this.releaseQuietly(lock);
    }
    for (const handle of handles) handle.leaveToExpire();
  }

  /** A failed release must not hide the work's outcome; the lease ends it anyway. */
  private async releaseQuietly(lock: Held): Promise<void> {
    try {
      await lock.release();
    } catch (err) {
      const keyText = 'key' in lock ? lock.key : lock.keys.join(', ');
      this.logger.warn(`${MESSAGES.releaseFailed(keyText)} (${describeError(err)})`);
    }
  }

  private async takeOrThrow(
    key: string | readonly string[],
    keys: readonly string[],
    options: LockOptions | undefined,
  ): Promise<Held> {
    const opts = resolveLockOptions(this.options, options);
    const started = monotonicNow();
    const lock = await this.take(key, keys, opts, started + opts.waitTimeout);
    if (!lock) {
      publishBusy(this, key, 'timeout', started);
      throw new LockNotAcquiredError(key, Math.round(monotonicNow() - started));
    }
    return lock;
  }

  private take(
    key: string | readonly string[],
    keys: readonly string[],
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<Held | null> {
    const mode: HoldMode = opts.mode === 'read' ? 'r' : 'x';
    return typeof key === 'string'
      ? this.takeOne(this.resource(key, mode), opts, deadline)
      : this.takeAll(keys, mode, opts, deadline);
  }

  /**
   * One resource, waiting until `deadline` (monotonic ms). Every store call is bounded by the
   * deadline (or the command timeout) and the signal. A first call that gets no answer fails
   * closed; once the store has answered, a failed re-check only means waiting on. Whatever
   * does not end in a held lock leaves nothing behind in the store.
   */
  private async takeOne(
    resource: LockResource,
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<Lock | null> {
    if (resource.mode !== 's') {
      const mine = this.context.find(resource.id);
      if (mine?.isHeld()) {
        if (mine.resource.mode === 'r' && resource.mode === 'x') {
          throw new Error(MESSAGES.upgrade(resource.key));
        }
        if (this.options.reentrant) return mine.reenter();
        if (deadline > monotonicNow()) this.logger.warn(MESSAGES.selfWait(resource.key));
      }
    }
    opts.signal?.throwIfAborted();
    const token = newLockToken();
    const canWait = deadline > monotonicNow();
    const bound = (): CallBound => ({
      deadline: canWait ? Math.max(deadline, monotonicNow() + MIN_CALL_MS) : Infinity,
      signal: opts.signal,
    });
    let answered = false;
    let unanswered = false;
    if (resource.mode === 'x') {
      // Uncontended exclusive locks take one bare SET NX, with no waiter set up for them.
      const sentAt = monotonicNow();
      try {
        const fencingToken = await this.store.acquireFast(resource, token, opts.ttl, bound());
        if (fencingToken !== null) {
          const held = this.hold(
            resource,
            token,
            fencingToken,
            opts,
            provenLeaseEnd(sentAt, opts.ttl),
          );
          publishAcquired(this, held, opts.mode, deadline - opts.waitTimeout);
          return this.unlessAborted(held, opts);
        }
        answered = true;
      } catch (err) {
        // Unanswered, it may have taken the lock after all: cleaned up without making the
        // caller wait for a store that does not answer.
        void this.abandonAttempt(resource, token, opts.ttl);
        if (canWait && outOfTime(err, deadline)) return null;
        throw err;
      }
      if (!canWait) return null;
    }
    // Registered before joining the line, so that no hand-over to this token can go unheard.
    const waiter = canWait ? this.store.addWaiter(resource, token) : undefined;
    const waiterLease = waiter ? this.waiterLease : 0;
    let queued = false;
    let queuedAt = 0;
    let lock: LockHandle | undefined;
    try {
      if (waiter && resource.mode === 'x') {
        // Subscribed before the first queued attempt: nothing sent to this waiter is missed.
        await this.store.listen(waiter, bound());
      }
      while (!lock) {
        opts.signal?.throwIfAborted();
        const sentAt = monotonicNow();
        let result;
        try {
          result = await this.store.acquire(resource, token, opts.ttl, waiterLease, bound());
          answered = true;
        } catch (err) {
          // Aborted or failed, the call may still have reached the store.
          unanswered = true;
          if (isAbort(err, opts) || !(err instanceof LockStoreUnavailableError)) throw err;
          // A call cut short by the wait's own deadline: the lock was not had in time.
          if (outOfTime(err, deadline)) return null;
          // Fail closed when the store never answered or is closing; otherwise keep waiting.
          if (!answered || !waiter || this.closing) throw err;
          if (monotonicNow() >= deadline) return null;
          await waiter.wait(
            Math.min(deadline - monotonicNow(), this.options.recheckInterval),
            opts.signal,
          );
          continue;
        }
        if (typeof result === 'number') {
          lock = this.hold(resource, token, result, opts, provenLeaseEnd(sentAt, opts.ttl));
          break;
        }
        if (!waiter) return null;
        queued = true;
        queuedAt = sentAt;
        // A hand-over heard while this call was in flight may predate it (a stalled process
        // reads old messages late): the store is asked again, and says whether it is ours.
        if (waiter.takeGrant()) continue;
        // A wake-up sent before the subscription was active is lost: look again at once.
        if (await this.store.listen(waiter, bound())) continue;
        const remaining = deadline - monotonicNow();
        if (remaining <= 0) return null;
        const hint = result.retryInMs >= 0 ? result.retryInMs + 1 : Infinity;
        await waiter.wait(Math.min(remaining, this.options.recheckInterval, hint), opts.signal);
        const handOver = waiter.takeGrant();
        if (handOver) {
          // The store gave it for no longer than this waiter was known alive: since it last
          // renewed its place, which the client can prove.
          const provenUntil = provenLeaseEnd(queuedAt, Math.min(this.waiterLease, opts.ttl));
          // A stalled waiter may wake after that: the next look tells whether it is still ours.
          if (provenUntil <= monotonicNow()) continue;
          lock = this.hold(
            resource,
            token,
            handOver.fencingToken,
            opts,
            provenUntil,
            handOver.leaseMs,
          );
        }
      }
    } finally {
      if (waiter) this.store.removeWaiter(waiter);
      if (!lock && (queued || unanswered)) {
        const cleanup = this.abandonAttempt(resource, token, opts.ttl);
        // A store that answers is left clean before the caller goes on; one that does not is
        // cleaned up in the background, never at the cost of the caller's time limit.
        if (!unanswered) await cleanup;
      }
    }
    publishAcquired(this, lock, opts.mode, deadline - opts.waitTimeout);
    return this.unlessAborted(lock, opts);
  }

  /**
   * An attempt that did not end in a held lock leaves the line; `leave` also gives back a hold
   * the token got meanwhile (a hand-over, or a call whose reply was lost). Repeated in the
   * background until done or until such a hold would have expired.
   */
  private abandonAttempt(resource: LockResource, token: string, ttl: number): Promise<void> {
    const until = monotonicNow() + ttl + this.options.commandTimeout;
    return this.retries.run(
      () =>
        this.store.leave(resource, token, {
          deadline: monotonicNow() + this.options.commandTimeout,
        }),
      until,
    );
  }

  /** The store side of `lock.release()`: a failure is repeated in the background within the lease. */
  private async releaseInStore(lock: LockHandle): Promise<boolean> {
    const { handedOver, storeLeaseEnd } = lock.releaseInfo;
    const release = (): Promise<boolean> =>
      this.store.release(lock.resource, lock.token, handedOver, {
        deadline: monotonicNow() + this.options.commandTimeout,
      });
    try {
      return await release();
    } catch (err) {
      if (err instanceof LockStoreUnavailableError) {
        this.retries.run(release, storeLeaseEnd + this.options.commandTimeout, true);
      }
      throw err;
    }
  }

  /** A caller that aborted while its lock was being taken does not get it. */
  private async unlessAborted(lock: LockHandle, opts: ResolvedLockOptions): Promise<LockHandle> {
    if (opts.signal?.aborted) {
      await this.releaseQuietly(lock);
      opts.signal.throwIfAborted();
    }
    return lock;
  }

  private hold(
    resource: LockResource,
    token: string,
    fencingToken: number,
    opts: ResolvedLockOptions,
    provenUntil: number,
    grantedLeaseMs?: number,
  ): LockHandle {
    const lock = new LockHandle(
      resource,
      token,
      fencingToken,
      opts.ttl,
      opts.autoExtend,
      provenUntil,
      this.store,
      this.hooks,
      grantedLeaseMs,
    );
    this.held.add(lock);
    return lock;
  }

  /** All keys or none, always taken in sorted order so that two callers cannot deadlock. */
  private async takeAll(
    keys: readonly string[],
    mode: HoldMode,
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<MultiLockHandle | null> {
    const ordered = [...keys].sort();
    const locks: Lock[] = [];
    try {
      for (const key of ordered) {
        const lock = await this.takeOne(this.resource(key, mode), opts, deadline);
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

  private resource(key: string, mode: HoldMode, permits = 0): LockResource {
    const namespace = mode === 's' ? SEMAPHORE_NAMESPACE : LOCK_NAMESPACE;
    return lockResource(this.options.keyPrefix, namespace, key, mode, permits);
  }
}

// Keys may come from requests: messages give their type, never their text.
function normalizeKeys(key: unknown, method: string): readonly string[] {
  if (typeof key === 'string') {
    if (key.length === 0) throw new TypeError(`LockService.${method}: the key is empty.`);
    return [key];
  }
  if (Array.isArray(key)) {
    if (key.length === 0) throw new TypeError(`LockService.${method}: the key list is empty.`);
    key.forEach((k: unknown, i) => {
      if (typeof k !== 'string' || k.length === 0) {
        throw new TypeError(
          `LockService.${method}: every key must be a non-empty string, but key ${i} is ` +
            `${k === '' ? 'empty' : describeType(k)}.`,
        );
      }
    });
    return [...new Set(key as string[])];
  }
  throw new TypeError(
    `LockService.${method}: the key must be a non-empty string or an array of them, ` +
      `got ${describeType(key)}.`,
  );
}

/** For methods of one key: an array would be read as the one key `'a,b'`. */
function assertSingleKey(key: unknown, method: string): asserts key is string {
  if (typeof key === 'string' && key.length > 0) return;
  throw new TypeError(
    `LockService.${method} takes one key, a non-empty string, got ` +
      `${key === '' ? 'an empty string' : describeType(key)}` +
      (Array.isArray(key) ? `; call it once per key.` : '.'),
  );
}
