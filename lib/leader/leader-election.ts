import { Logger } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { LOGGER_CONTEXT } from '../distributed-lock.constants';
import type { Lock } from '../interfaces/lock.interface';
import { describeError } from '../lock-handle';
import type { LockService } from '../lock.service';
import type { LeaderElectionOptions } from './leader-election-options.interface';
import {
  assertLeadershipName,
  ResolvedLeaderElectionOptions,
  resolveLeaderElectionOptions,
} from './leader-election-options';
import { LEADER_KEY_PREFIX } from './leader.constants';
import { LEADER_MESSAGES } from './leader.messages';
import type {
  LeadershipChange,
  LeadershipChangeReason,
  LeaderTerm,
} from './leadership-change.interface';
import { publishLeadership } from '../events/lock-event-channels';

/** The reason on a term's signal when the leader resigned (`stop()`, shutdown). */
export class LeadershipResignedError extends Error {
  constructor(name: string) {
    super(LEADER_MESSAGES.resigned(name));
    this.name = 'LeadershipResignedError';
  }
}

interface Term {
  readonly lock: Lock;
  readonly controller: AbortController;
}

/**
 * One named leadership, campaigned for by this instance: at most one instance of the fleet is
 * its leader at a time. The leadership is a lock on `leader:<name>`, waited for in the lock's
 * fair queue and renewed by its watchdog; this instance is the leader exactly while that lock
 * is held (its lease proven on this side), and campaigns again after losing it.
 *
 * Made by `LeaderElectionService.election(name, options)`; `new LeaderElection(locks, name)`
 * outside Nest, then `stop()` before closing the `LockService`.
 */
export class LeaderElection {
  /** The leadership's name. */
  readonly name: string;
  /** Every change of this instance's leadership, in order. Completes when the application shuts down. */
  readonly changes: Observable<LeadershipChange>;
  /** @internal The options it was made with, resolved. */
  readonly options: ResolvedLeaderElectionOptions;

  private readonly key: string;
  private readonly subject = new Subject<LeadershipChange>();
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private running = false;
  private closed = false;
  /** Aborted by `stop()`: ends the campaign's wait, its pause or its term. */
  private campaignController: AbortController | undefined;
  private campaignLoop: Promise<void> = Promise.resolve();
  private term: Term | undefined;

  constructor(
    private readonly locks: LockService,
    name: string,
    options?: LeaderElectionOptions,
  ) {
    assertLeadershipName(name, 'LeaderElection');
    this.name = name;
    this.options = resolveLeaderElectionOptions(options, 'LeaderElection');
    this.key = LEADER_KEY_PREFIX + name;
    this.changes = this.subject.asObservable();
  }

  /** Whether this instance is the leader now: its lease is proven, and it has not resigned. */
  isLeader(): boolean {
    return this.running && this.term !== undefined && this.term.lock.isHeld();
  }

  /** The current term while this instance is the leader: fencing token, signal, lease end. */
  get currentTerm(): LeaderTerm | undefined {
    const term = this.term;
    if (!term || !this.isLeader()) return undefined;
    return {
      fencingToken: term.lock.fencingToken,
      signal: term.controller.signal,
      get validUntil() {
        return term.lock.validUntil;
      },
    };
  }

  /** Whether `start()` was called and `stop()` not since. */
  get campaigning(): boolean {
    return this.running;
  }

  /** Starts campaigning in the background; nothing happens if it already is. */
  start(): void {
    if (this.closed) throw new Error(LEADER_MESSAGES.closed(this.name));
    if (this.running) return;
    this.running = true;
    const controller = new AbortController();
    this.campaignController = controller;
    // A campaign stopped a moment ago may still be giving its lock back: this one waits for it.
    this.campaignLoop = this.campaignLoop
      .then(() => this.campaign(controller.signal))
      .catch((err: unknown) => {
        this.running = false;
        this.logger.error(LEADER_MESSAGES.campaignEnded(this.name, describeError(err)));
      });
  }

  /**
   * Stops campaigning and resigns: a held leadership is released (the next campaigner gets it
   * at once), a place in the queue is left. Resolves when nothing of it is left running.
   */
  async stop(): Promise<void> {
    if (this.running) {
      this.running = false;
      this.campaignController?.abort();
      this.campaignController = undefined;
    }
    await this.campaignLoop;
  }

  /** Calls `listener` each time this instance becomes the leader; returns the unsubscribe function. */
  onElected(listener: (change: LeadershipChange) => void): () => void {
    return this.listen(true, listener);
  }

  /** Calls `listener` each time this instance stops being the leader; returns the unsubscribe function. */
  onDeposed(listener: (change: LeadershipChange) => void): () => void {
    return this.listen(false, listener);
  }

  /** @internal Stops for good (the application shuts down): `changes` completes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    this.subject.complete();
  }

  private listen(leader: boolean, listener: (change: LeadershipChange) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `LeaderElection.${leader ? 'onElected' : 'onDeposed'}: the listener must be a function.`,
      );
    }
    const subscription = this.subject.subscribe((change) => {
      if (change.leader !== leader) return;
      // A listener's error never changes the election's course.
      try {
        listener(change);
      } catch (err) {
        this.logger.warn(LEADER_MESSAGES.listenerFailed(this.name, describeError(err)));
      }
    });
    return () => subscription.unsubscribe();
  }

  private async campaign(stopped: AbortSignal): Promise<void> {
    let delay = this.options.retryDelay;
    while (!stopped.aborted) {
      let lock: Lock;
      try {
        // Waits in the lock's fair queue until the leader lets go or its lease ends.
        lock = await this.locks.acquire(this.key, {
          ttl: this.options.lease,
          waitTimeout: Infinity,
          autoExtend: true,
          signal: stopped,
        });
      } catch (err) {
        if (stopped.aborted) return;
        // The store is unreachable (or refused): try again, backing off.
        this.logger.warn(LEADER_MESSAGES.campaignFailed(this.name, describeError(err), delay));
        await pause(delay, stopped);
        delay = Math.min(delay * 2, this.options.maxRetryDelay);
        continue;
      }
      delay = this.options.retryDelay;
      const reason = await this.serve(lock, stopped);
      if (reason === 'lost') {
        this.logger.warn(LEADER_MESSAGES.lost(this.name));
        // A small pause: a store that just failed the renewals is not asked again at once.
        await pause(this.options.retryDelay, stopped);
      }
    }
  }

  /** One term: from election until the lock is lost or `stop()`; then the lock is let go. */
  private async serve(lock: Lock, stopped: AbortSignal): Promise<LeadershipChangeReason> {
    const controller = new AbortController();
    this.term = { lock, controller };
    this.emit(true, 'elected', lock.fencingToken);
    const reason = await termEnd(lock, stopped);
    this.term = undefined;
    controller.abort(
      reason === 'lost' && lock.signal.aborted
        ? lock.signal.reason
        : new LeadershipResignedError(this.name),
    );
    this.emit(false, reason, lock.fencingToken);
    // Resigned: released so that the next campaigner is elected at once. Lost: the lease is
    // over here; a release tries anyway in case the store still holds it (a flaky link).
    try {
      await lock.release();
    } catch {
      // The lease ends it; the lock service logs and retries within the lease.
    }
    return reason;
  }

  private emit(leader: boolean, reason: LeadershipChangeReason, fencingToken: number): void {
    publishLeadership(this.locks, this.name, leader, reason, fencingToken);
    this.subject.next({ name: this.name, leader, reason, fencingToken });
  }
}

/**
 * Resolves when the term ends: 'lost' when the lock's signal aborts (a renewal was refused, or
 * its proven lease ended) or it stops counting as held; 'resigned' when `stopped` aborts.
 */
function termEnd(lock: Lock, stopped: AbortSignal): Promise<LeadershipChangeReason> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (reason: LeadershipChangeReason): void => {
      clearTimeout(timer);
      lock.signal.removeEventListener('abort', onLost);
      stopped.removeEventListener('abort', onStop);
      resolve(reason);
    };
    const onLost = (): void => finish('lost');
    const onStop = (): void => finish('resigned');
    // A backstop for a lock that stops being held without a signal (its service was closed):
    // looked at when its proven lease ends, which each renewal moves on.
    const check = (): void => {
      if (!lock.isHeld()) return finish('lost');
      timer = setTimeout(check, Math.max(1, lock.validUntil - Date.now() + 1));
      timer.unref();
    };
    if (stopped.aborted) return finish('resigned');
    lock.signal.addEventListener('abort', onLost, { once: true });
    stopped.addEventListener('abort', onStop, { once: true });
    check();
  });
}

/** Waits `ms`, or less if `stopped` aborts; leaves no timer or listener behind. */
function pause(ms: number, stopped: AbortSignal): Promise<void> {
  if (stopped.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stopped.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    stopped.addEventListener('abort', done, { once: true });
  });
}
