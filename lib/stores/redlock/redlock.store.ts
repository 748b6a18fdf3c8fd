import { Logger } from '@nestjs/common';
import { monotonicNow } from '../../clock';
import { LOGGER_CONTEXT } from '../../distributed-lock.constants';
import { MESSAGES } from '../../distributed-lock.messages';
import { LockStoreUnavailableError } from '../../errors/lock-store-unavailable.error';
import { provenLeaseEnd } from '../../lock-handle';
import { boundReachedError, CallBound } from '../call-bound';
import type { LockResource } from '../lock-resource';
import {
  EXTEND_SCRIPT,
  FAST_ACQUIRE_SCRIPT,
  FAST_RELEASE_SCRIPT,
  IS_LOCKED_SCRIPT,
} from '../lock-scripts';
import type {
  AcquireMiss,
  ClaimReply,
  CompleteReply,
  LockStore,
  StoreHealth,
} from '../lock-store.interface';
import { Waiter } from '../waiter';
import { Answer, countAnswers, gather, majorityOf } from './quorum';
import { RedlockMaster } from './redlock-master';
import { REDLOCK_MESSAGES } from './redlock.messages';
import { RAISE_FENCE_SCRIPT } from './redlock-scripts';
import { leaseOnMasters, masterTimeoutFor, RedlockTiming, retryDelay } from './redlock-timing';

/** How long a release waits for each master's answer, unless `masterTimeout` is set. */
const RELEASE_WAIT_MS = 100;

/** How a round went: who granted (index and fencing token), who refused, who did not answer. */
interface Tally {
  readonly granted: { index: number; fence: number }[];
  readonly refused: number;
  readonly silent: number;
  /** The first failure, for the error's cause. */
  readonly firstError: unknown;
}

function tally(answers: readonly (Answer<unknown> | undefined)[]): Tally {
  const granted: { index: number; fence: number }[] = [];
  let refused = 0;
  let silent = 0;
  let firstError: unknown;
  answers.forEach((answer, index) => {
    if (answer?.ok !== true) {
      silent++;
      firstError ??= answer?.error;
    } else if (typeof answer.value === 'number') {
      granted.push({ index, fence: answer.value });
    } else {
      refused++;
    }
  });
  return { granted, refused, silent, firstError };
}

/**
 * Redlock over N independent Redis masters (N ≥ 3), behind the same store contract as one Redis,
 * for exclusive locks. Every step is a round sent to all masters at once, each bounded by a
 * per-master timeout small against the lease; a step counts when a majority (N/2 + 1) confirmed
 * it in time. See the README, "Redlock across independent masters", for the algorithm and why
 * its fencing tokens increase.
 *
 * What it does not do: queue waiters (a waiter retries after a random delay), read locks,
 * semaphores and idempotency claims (refused with a TypeError that names them).
 */
export class RedlockStore implements LockStore {
  readonly distributed = true;
  private readonly quorum: number;
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private closed = false;

  constructor(
    private readonly masters: readonly RedlockMaster[],
    private readonly timing: RedlockTiming,
  ) {
    this.quorum = majorityOf(masters.length);
    if (masters.length % 2 === 0) this.logger.warn(REDLOCK_MESSAGES.evenMasters(masters.length));
  }

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    _waiterLeaseMs: number,
    bound?: CallBound,
  ): Promise<number | AcquireMiss> {
    this.assertExclusive(resource);
    // Never queued: the hint is a random delay, after which the service tries again.
    const fence = await this.take(resource, token, ttlMs, bound);
    return fence ?? { retryInMs: retryDelay(this.timing.retryJitter) };
  }

  acquireFast(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null> {
    this.assertExclusive(resource);
    return this.take(resource, token, ttlMs, bound);
  }

  /**
   * One Redlock acquisition. Round 1 takes the key on every master (`SET NX PX`, or a renewal
   * where it already holds this token: a retry) and draws a fencing token there
   * (`max(counter + 1, TIME)`). With a majority, the lock's token T is the largest drawn; round 2
   * raises the counter to T on masters of that majority that drew less, until a majority holds
   * both the key and a counter ≥ T. Only then, and only if the lease is still valid
   * (`start + ttl − drift`, on the monotonic clock), is it held. Otherwise the key is let go on
   * every master, those that failed or did not answer included (a lost reply may hide a grant).
   * Resolves the token; `null` when too many masters said the lock is held; rejects with a
   * `LockStoreUnavailableError` when no majority answered in time.
   */
  /**
   * At start-up, waits (within the command timeout) until a majority of the connections are
   * open, so that the first round does not count connecting as answering late. A master that
   * stays unreachable is a missing vote, as always.
   */
  private connected(): Promise<void> {
    const opening = this.masters.filter((master) => !master.isReady());
    if (this.masters.length - opening.length >= this.quorum) return Promise.resolve();
    const deadline = monotonicNow() + this.timing.commandTimeout;
    let ready = this.masters.length - opening.length;
    return new Promise<void>((resolve) => {
      const waits = opening.map((master) =>
        master.ready(deadline).then(() => {
          if (master.isReady() && ++ready >= this.quorum) resolve();
        }),
      );
      void Promise.all(waits).then(() => resolve());
    });
  }

  private async take(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null> {
    this.assertOpen();
    await this.connected();
    const start = monotonicNow();
    const validUntil = provenLeaseEnd(start, ttlMs);
    const px = leaseOnMasters(ttlMs, this.timing.driftFactor);
    const timeout = masterTimeoutFor(ttlMs, this.timing);
    const signal = bound?.signal;
    const n = this.masters.length;
    const q = this.quorum;
    const deadline = Math.min(start + timeout, bound?.deadline ?? Infinity, validUntil);
    const round1 = tally(
      await gather(
        this.masters,
        (master) =>
          master.run(FAST_ACQUIRE_SCRIPT, resource.fastKeys, [token, px], deadline, signal),
        (answers) => {
          const t = tally(answers);
          return t.granted.length >= q || t.refused > n - q;
        },
      ),
    );
    const failed = (err: unknown): never => {
      this.letGoEverywhere(resource, token);
      throw err;
    };
    if (signal?.aborted) return failed(signal.reason);
    if (round1.granted.length < q) {
      this.letGoEverywhere(resource, token);
      if (round1.granted.length + round1.refused >= q) return null;
      throw this.unavailable(
        REDLOCK_MESSAGES.noMajority(n - round1.silent, n, q, timeout),
        round1.firstError,
      );
    }

    const fence = Math.max(...round1.granted.map((g) => g.fence));
    // A master that drew T itself already has its counter at T.
    const confirmed = round1.granted.filter((g) => g.fence === fence).length;
    if (confirmed < q) {
      const behind = round1.granted.filter((g) => g.fence < fence);
      const needed = q - confirmed;
      const writeBackBy = Math.min(
        monotonicNow() + timeout,
        bound?.deadline ?? Infinity,
        validUntil,
      );
      const round2 = await gather(
        behind,
        ({ index }) =>
          this.masters[index].run(
            RAISE_FENCE_SCRIPT,
            resource.fastKeys,
            [token, fence],
            writeBackBy,
            signal,
          ),
        (answers) => countAnswers(answers, (v) => v === 1) >= needed,
      );
      if (signal?.aborted) return failed(signal.reason);
      const raised = countAnswers(round2, (v) => v === 1);
      if (raised < needed) {
        const cause = round2.find((a) => a?.ok === false);
        return failed(
          this.unavailable(
            REDLOCK_MESSAGES.fenceNotRaised(confirmed + raised, n, q),
            cause?.ok === false ? cause.error : undefined,
          ),
        );
      }
    }
    // Validity = ttl − elapsed − drift must still be positive: slow answers ate the lease.
    const now = monotonicNow();
    if (now >= validUntil) {
      return failed(this.unavailable(REDLOCK_MESSAGES.leaseEaten(Math.round(now - start), ttlMs)));
    }
    return fence;
  }

  async release(
    resource: LockResource,
    token: string,
    _handedOver: boolean,
    bound?: CallBound,
  ): Promise<boolean> {
    if (resource.mode !== 'x') return false;
    const { released, silent } = await this.letGoOnAll(resource, token, bound);
    // A master that does not answer keeps the key until its lease ends: the majority decides.
    if (silent > 0) this.logger.warn(REDLOCK_MESSAGES.releaseUnanswered(resource.key, silent));
    return released > 0;
  }

  /**
   * Renews on every master, owner-checked. `true` only when a majority confirmed within the
   * bound (the lock's current deadline) and each master's timeout; `false` when so many masters
   * no longer hold it that no majority can (the lock is lost); otherwise a
   * `LockStoreUnavailableError` (the lease stands until its deadline, and the watchdog retries).
   */
  async extend(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<boolean> {
    this.assertExclusive(resource);
    this.assertOpen();
    const start = monotonicNow();
    const px = leaseOnMasters(ttlMs, this.timing.driftFactor);
    const timeout = masterTimeoutFor(ttlMs, this.timing);
    const limit = bound?.deadline ?? Infinity;
    const deadline = Math.min(start + timeout, limit);
    const n = this.masters.length;
    const q = this.quorum;
    const answers = await gather(
      this.masters,
      (master) =>
        master.run(EXTEND_SCRIPT, resource.holderKeys, [token, px, 'x'], deadline, bound?.signal),
      (so) => countAnswers(so, (v) => v === 1) >= q || countAnswers(so, (v) => v !== 1) > n - q,
    );
    const renewed = countAnswers(answers, (v) => v === 1);
    const refused = countAnswers(answers, (v) => v !== 1);
    if (renewed >= q && monotonicNow() < limit) return true;
    if (refused > n - q) return false;
    const cause = answers.find((a) => a?.ok === false);
    throw this.unavailable(
      REDLOCK_MESSAGES.notRenewed(renewed, n, q, timeout),
      cause?.ok === false ? cause.error : undefined,
    );
  }

  async leave(resource: LockResource, token: string, bound?: CallBound): Promise<void> {
    if (resource.mode !== 'x') return;
    await this.letGoOnAll(resource, token, bound);
  }

  /**
   * Whether someone may hold the lock: `false` only when a majority of masters has no key (no
   * holder can then have one); `true` otherwise, once a majority has answered.
   */
  async isLocked(resource: LockResource, bound?: CallBound): Promise<boolean> {
    this.assertOpen();
    const n = this.masters.length;
    const q = this.quorum;
    const deadline = Math.min(
      monotonicNow() + this.timing.commandTimeout,
      bound?.deadline ?? Infinity,
    );
    const answers = await gather(
      this.masters,
      (master) => master.run(IS_LOCKED_SCRIPT, resource.storeKeys, [], deadline, bound?.signal),
      (so) => countAnswers(so, (v) => v !== 1) >= q,
    );
    if (countAnswers(answers, (v) => v !== 1) >= q) return false;
    const answered = answers.filter((a) => a?.ok).length;
    if (answered < q) {
      const cause = answers.find((a) => a?.ok === false);
      throw this.unavailable(
        REDLOCK_MESSAGES.noMajority(answered, n, q, this.timing.commandTimeout),
        cause?.ok === false ? cause.error : undefined,
      );
    }
    return true;
  }

  claim(): Promise<ClaimReply> {
    return Promise.reject(new TypeError(REDLOCK_MESSAGES.unsupported('Idempotency claims')));
  }

  complete(): Promise<CompleteReply> {
    return Promise.reject(new TypeError(REDLOCK_MESSAGES.unsupported('Idempotency claims')));
  }

  /** Waiters are never queued, so never woken: they retry after a random delay. */
  addWaiter(resource: LockResource, token: string): Waiter {
    return new Waiter(resource.channel, token);
  }

  listen(): Promise<boolean> {
    return Promise.resolve(false);
  }

  removeWaiter(): void {
    // Nothing registered: see addWaiter.
  }

  async checkSetup(): Promise<readonly string[]> {
    const deadline = monotonicNow() + this.timing.commandTimeout;
    const answers = await Promise.allSettled(this.masters.map((m) => m.evictionPolicy(deadline)));
    const problems: string[] = [];
    answers.forEach((answer, i) => {
      if (answer.status === 'rejected') {
        problems.push(REDLOCK_MESSAGES.masterUnchecked(this.masters[i].name));
      } else if (answer.value && answer.value !== 'noeviction') {
        problems.push(`${this.masters[i].name}: ${MESSAGES.evictionPolicy(answer.value)}`);
      }
    });
    return problems;
  }

  /** `PING` to every master; healthy when a majority answers (the time is the majority's). */
  async health(): Promise<StoreHealth> {
    const started = monotonicNow();
    const q = this.quorum;
    const deadline = started + this.timing.commandTimeout;
    if (this.closed) throw new LockStoreUnavailableError(new Error('the lock store is closed'));
    const answers = await gather(
      this.masters,
      (master) => master.ping(deadline),
      (so) => so.filter((a) => a?.ok).length >= q,
    );
    const answered = answers.filter((a) => a?.ok).length;
    if (answered < q) {
      const cause = answers.find((a) => a?.ok === false);
      throw this.unavailable(
        REDLOCK_MESSAGES.noMajority(answered, this.masters.length, q, this.timing.commandTimeout),
        cause?.ok === false ? cause.error : undefined,
      );
    }
    return {
      topology: 'redlock',
      roundTripMs: Math.round((monotonicNow() - started) * 100) / 100,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.masters.map((master) => master.close()));
  }

  /**
   * The owner-checked release on every master, waiting for each within the bound. Rejects
   * (to be repeated) when fewer than a majority answered.
   */
  private async letGoOnAll(
    resource: LockResource,
    token: string,
    bound?: CallBound,
  ): Promise<{ released: number; silent: number }> {
    this.assertOpen();
    // Not the command timeout: a stopped master would hold up every release. The command stays
    // sent (or queued until the connection is back), only its answer is no longer awaited.
    const wait = this.timing.masterTimeout ?? Math.min(this.timing.commandTimeout, RELEASE_WAIT_MS);
    const deadline = Math.min(monotonicNow() + wait, bound?.deadline ?? Infinity);
    const answers = await gather(
      this.masters,
      (master) =>
        master.run(
          FAST_RELEASE_SCRIPT,
          resource.holderKeys,
          [token],
          deadline,
          bound?.signal,
          true,
        ),
      () => false,
    );
    const answered = answers.filter((a) => a?.ok).length;
    if (answered < this.quorum) {
      const cause = answers.find((a) => a?.ok === false);
      throw this.unavailable(
        REDLOCK_MESSAGES.noMajority(
          answered,
          this.masters.length,
          this.quorum,
          Math.round(deadline - monotonicNow()),
        ),
        cause?.ok === false ? cause.error : undefined,
      );
    }
    return {
      released: countAnswers(answers, (v) => v === 1),
      silent: this.masters.length - answered,
    };
  }

  /**
   * A failed attempt lets go on every master without waiting: on each connection the release
   * goes after the attempt's own command, so it also undoes a grant whose reply was late.
   */
  private letGoEverywhere(resource: LockResource, token: string): void {
    if (this.closed) return;
    const deadline = monotonicNow() + this.timing.commandTimeout;
    for (const master of this.masters) {
      master
        .run(FAST_RELEASE_SCRIPT, resource.holderKeys, [token], deadline, undefined, true)
        .catch(() => undefined);
    }
  }

  private assertExclusive(resource: LockResource): void {
    if (resource.mode === 'r') throw new TypeError(REDLOCK_MESSAGES.unsupported('Read locks'));
    if (resource.mode === 's') throw new TypeError(REDLOCK_MESSAGES.unsupported('Semaphores'));
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new LockStoreUnavailableError(new Error('the lock store is closed'));
    }
  }

  /** No majority in time: fail closed, with the first master's failure as the cause. */
  private unavailable(message: string, cause?: unknown): LockStoreUnavailableError {
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    const err = timedOut ? boundReachedError(message) : new Error(message, { cause });
    return new LockStoreUnavailableError(err);
  }
}
