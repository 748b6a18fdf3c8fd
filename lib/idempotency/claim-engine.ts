import type { BackgroundRetries } from '../background-retries';
import { monotonicNow } from '../clock';
import { IDEMPOTENCY_NAMESPACE } from '../distributed-lock.constants';
import { LockHandle, provenLeaseEnd } from '../lock-handle';
import type { ResolvedLockOptions } from '../lock-options';
import { newLockToken } from '../lock-token';
import type { CallBound } from '../stores/call-bound';
import { LockResource, lockResource } from '../stores/lock-resource';
import type { LockStore } from '../stores/lock-store.interface';

/** The parts of the lock engine that claims are built on (given by `LockService`). */
export interface ClaimEngineDeps {
  readonly store: LockStore;
  readonly keyPrefix: string;
  readonly commandTimeout: number;
  readonly retries: BackgroundRetries;
  hold(
    resource: LockResource,
    token: string,
    fencingToken: number,
    opts: ResolvedLockOptions,
    provenUntil: number,
  ): LockHandle;
  /** Waits for the resource's lock in line, like `acquire`; `null` when `deadline` passed. */
  take(
    resource: LockResource,
    opts: ResolvedLockOptions,
    deadline: number,
  ): Promise<LockHandle | null>;
  /** Cleans up after an attempt that may have taken the lock without the caller knowing. */
  abandonAttempt(resource: LockResource, token: string, ttl: number): Promise<void>;
}

export interface ClaimRequest {
  readonly lease: number;
  readonly retention: number;
  readonly wait: boolean;
  readonly waitTimeout: number;
  readonly signal?: AbortSignal;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly claim: ActiveClaim }
  | { readonly kind: 'busy'; readonly retryInMs: number }
  | { readonly kind: 'done'; readonly response: string }
  | { readonly kind: 'mismatch' };

/** How a claim's completion ended: stored, or not (the claim was lost before it). */
export type Completion = 'stored' | 'dropped' | 'lost';

/** A held claim: the lock (renewed by its watchdog) that stands for it, and how to end it. */
export class ActiveClaim {
  constructor(
    readonly lock: LockHandle,
    readonly fencingToken: number,
    private readonly fingerprint: string,
    private readonly retention: number,
    private readonly deps: ClaimEngineDeps,
  ) {}

  /**
   * Stores `response` and lets go of the claim in one step (`null`: gives it up, storing
   * nothing, so a retry runs again). A completion that gets no answer is repeated in the
   * background while the claim's lease lasts, and the error is thrown for the caller to report.
   */
  async complete(response: string | null): Promise<Completion> {
    const { store, commandTimeout } = this.deps;
    const { resource, token } = this.lock;
    const send = () =>
      store.complete(resource, token, this.fingerprint, response, this.retention, this.bound());
    let reply;
    try {
      reply = await send();
    } catch (err) {
      const until = this.lock.releaseInfo.storeLeaseEnd + commandTimeout;
      this.lock.releasedInStore();
      // Repeated until it lands; when others wait by then, the full release hands it over
      // (the handle no longer does: it counts as released here).
      const sendInBackground = async (): Promise<void> => {
        if ((await send()) === 'handoff') await store.release(resource, token, true, this.bound());
      };
      this.deps.retries.run(sendInBackground, until, true);
      throw err;
    }
    if (reply === 'handoff') {
      // Stored; the line behind it gets the lock through the full release.
      await this.lock.release();
    } else {
      this.lock.releasedInStore();
    }
    if (reply === 'lost') return 'lost';
    return response === null ? 'dropped' : 'stored';
  }

  private bound(): CallBound {
    return { deadline: monotonicNow() + this.deps.commandTimeout };
  }
}

/** Idempotency claims on the lock engine: one store call to claim, one to complete. */
export class ClaimEngine {
  constructor(private readonly deps: ClaimEngineDeps) {}

  resource(key: string): LockResource {
    return lockResource(this.deps.keyPrefix, IDEMPOTENCY_NAMESPACE, key, 'x');
  }

  async claim(key: string, fingerprint: string, request: ClaimRequest): Promise<ClaimOutcome> {
    const resource = this.resource(key);
    const started = monotonicNow();
    const deadline = started + (request.wait ? request.waitTimeout : 0);
    const opts: ResolvedLockOptions = {
      ttl: request.lease,
      waitTimeout: request.wait ? request.waitTimeout : 0,
      autoExtend: true,
      mode: 'exclusive',
      signal: request.signal,
    };
    const first = await this.claimAs(resource, newLockToken(), fingerprint, request, opts);
    if (first.kind !== 'busy' || !request.wait) return first;
    // Waits in the lock's own line; the turn, when it comes, is checked again: by then the
    // first request has usually completed, and its outcome is replayed.
    const lock = await this.deps.take(resource, opts, deadline);
    if (!lock) return { kind: 'busy', retryInMs: first.retryInMs };
    let outcome: ClaimOutcome;
    try {
      outcome = await this.claimAs(resource, lock.token, fingerprint, request, opts, lock);
    } catch (err) {
      await lock.release().catch(() => false);
      throw err;
    }
    if (outcome.kind !== 'claimed') await lock.release().catch(() => false);
    return outcome;
  }

  private async claimAs(
    resource: LockResource,
    token: string,
    fingerprint: string,
    request: ClaimRequest,
    opts: ResolvedLockOptions,
    held?: LockHandle,
  ): Promise<ClaimOutcome> {
    const { store, commandTimeout } = this.deps;
    const sentAt = monotonicNow();
    let reply;
    try {
      reply = await store.claim(resource, token, request.lease, fingerprint, request.retention, {
        deadline: sentAt + commandTimeout,
        signal: request.signal,
      });
    } catch (err) {
      // Unanswered, it may have claimed after all: the lock is given back in the background.
      if (!held) void this.deps.abandonAttempt(resource, token, request.lease);
      throw err;
    }
    if (reply.kind !== 'claimed') return reply;
    const lock =
      held ??
      this.deps.hold(resource, token, reply.fencingToken, opts, provenLeaseEnd(sentAt, opts.ttl));
    return {
      kind: 'claimed',
      claim: new ActiveClaim(lock, reply.fencingToken, fingerprint, request.retention, this.deps),
    };
  }
}
