import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import { sha256 } from './sha256';
import { LOGGER_CONTEXT } from '../distributed-lock.constants';
import { MESSAGES } from '../distributed-lock.messages';
import {
  IdempotencyConflictError,
  IdempotencyMismatchError,
  IdempotencyRecordError,
} from '../errors/idempotency.errors';
import { LockKeyError } from '../errors/lock-key.error';
import { LockNotAcquiredError } from '../errors/lock-not-acquired.error';
import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import type {
  IdempotencyClaim,
  IdempotencyOptions,
  IdempotencyRunOptions,
  IdempotentResult,
} from '../interfaces/idempotency-options.interface';
import {
  publishIdempotencyClaimLost,
  publishIdempotencyRejected,
  publishIdempotencyReplayed,
} from '../events/lock-event-channels';
import { describeError } from '../lock-handle';
import { LockService } from '../lock.service';
import { describeType } from '../validation/describe-value';
import { IDEMPOTENCY_RUN_OPTION_NAMES } from '../validation/option-names';
import type { ActiveClaim } from './claim-engine';
import { fingerprintOf } from './fingerprint';
import { idempotencyScope } from './idempotency-scope';
import {
  ResolvedIdempotencyOptions,
  resolveIdempotencyOptions,
  validateIdempotencyOptions,
} from './idempotency-options';
import { bodyValue, parseResponse, serializeOutcome, StoredResponse } from './stored-response';

const RUN_LABEL = 'IdempotencyService.run option';
/** The longest `Retry-After` a 409 suggests, in seconds. */
const RETRY_AFTER_MAX_S = 1;

/** What a claim attempt left the caller with: run the work, or a stored outcome to replay. */
export type Begun =
  | { readonly kind: 'claimed'; readonly claim: ActiveClaim }
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  | { readonly kind: 'unguarded' };

/**
 * Runs work at most once per idempotency key, across every process on the store: the first
 * call claims the key and runs; its outcome is stored and replayed to every later call with
 * the same key and fingerprint, for `retention`. Built on the lock engine: the claim is a lock
 * (renewed while the work runs, with a fencing token), and duplicates can wait in its line.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  /** Nest injects the module's `LockService`; claims live on its store. */
  constructor(@Inject(LockService) private readonly locks: LockService) {}

  /**
   * Runs `fn` once for `key`: the first call runs it and stores what it returns (or the
   * `HttpException` it throws, when `storeIf` its status); a later call with the same key and
   * an equal `fingerprint` (canonical JSON) gets that outcome back with `replayed: true`, and
   * one with another fingerprint is refused (`IdempotencyMismatchError`, 422). While the first
   * runs, a duplicate is refused (`IdempotencyConflictError`, 409) or, with `onInFlight:
   * 'wait'`, waits for its outcome. `fn` can read its claim with `current()`.
   */
  async run<T>(
    key: string,
    fingerprint: unknown,
    fn: () => T | Promise<T>,
    options?: IdempotencyRunOptions,
  ): Promise<IdempotentResult<T>> {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(
        `IdempotencyService.run: the key must be a non-empty string, got ` +
          `${key === '' ? 'an empty string' : describeType(key)}.`,
      );
    }
    if (typeof fn !== 'function') {
      throw new TypeError('IdempotencyService.run: the third argument must be a function.');
    }
    if (options !== undefined) {
      validateIdempotencyOptions(options, IDEMPOTENCY_RUN_OPTION_NAMES, RUN_LABEL);
    }
    const opts = this.resolve(options);
    const begun = await this.begin(storeKey(['run', key]), fingerprintOf(fingerprint), opts);
    if (begun.kind === 'unguarded') return { value: await fn(), replayed: false };
    if (begun.kind === 'replay') {
      const { response } = begun;
      if (response.thrown) throw replayedError(response);
      return { value: bodyValue(response.body) as T, replayed: true };
    }
    const { claim } = begun;
    let value: T;
    try {
      value = await idempotencyScope.run({ claim, started: true }, fn);
    } catch (err) {
      await this.finishAfterError(claim, err, opts);
      throw err;
    }
    const outcome = opts.storeIf(200) ? serializeOutcome(200, {}, value, false) : null;
    if (outcome === undefined) this.logger.warn(MESSAGES.notReplayable('the returned value'));
    await this.finish(claim, outcome ?? null);
    return { value, replayed: false };
  }

  /**
   * The claim the current call chain runs under (inside `run` or an `@Idempotent()`
   * handler), to read its fencing token or watch its signal; `undefined` outside one.
   */
  current(): IdempotencyClaim | undefined {
    const claim = idempotencyScope.getStore()?.claim;
    if (!claim) return undefined;
    const { lock, fencingToken } = claim;
    return {
      fencingToken,
      get signal() {
        return lock.signal;
      },
      get validUntil() {
        return lock.validUntil;
      },
      isHeld: () => lock.isHeld(),
    };
  }

  /** @internal The options in force for a call: its own, the module's, the defaults. */
  resolve(own: IdempotencyOptions | undefined): ResolvedIdempotencyOptions {
    const { options, waitTimeout } = this.locks.idempotencyDefaults;
    return resolveIdempotencyOptions(waitTimeout, own, options);
  }

  /**
   * @internal Claims `key` for the work, or answers with the stored outcome to replay; throws
   * the HTTP errors for a mismatch (422), a request in flight (409) and an unreadable record
   * (500). `unguarded`: the store is down and `onUnavailable` is `'run'`.
   */
  async begin(
    key: string,
    fingerprint: string,
    opts: ResolvedIdempotencyOptions,
    signal?: AbortSignal,
  ): Promise<Begun> {
    let outcome;
    try {
      outcome = await this.locks.claims.claim(key, fingerprint, {
        lease: opts.lease,
        retention: opts.retention,
        wait: opts.onInFlight === 'wait',
        waitTimeout: opts.waitTimeout,
        signal,
      });
    } catch (err) {
      if (err instanceof LockStoreUnavailableError && opts.onUnavailable === 'run') {
        this.logger.warn(MESSAGES.idempotencyUnguarded);
        return { kind: 'unguarded' };
      }
      throw err;
    }
    switch (outcome.kind) {
      case 'claimed':
        return outcome;
      case 'mismatch':
        this.logger.debug(MESSAGES.idempotencyRejected('the fingerprint differs'));
        publishIdempotencyRejected(this.locks, 'fingerprint-mismatch');
        throw new IdempotencyMismatchError();
      case 'busy':
        this.logger.debug(MESSAGES.idempotencyRejected('a request with its key is in flight'));
        publishIdempotencyRejected(this.locks, 'in-flight');
        throw new IdempotencyConflictError(retryAfterSeconds(outcome.retryInMs));
      default: {
        const response = parseResponse(outcome.response);
        if (!response) {
          this.logger.error(MESSAGES.recordUnreadable);
          throw new IdempotencyRecordError();
        }
        this.logger.debug(MESSAGES.idempotencyReplayed(response.status));
        publishIdempotencyReplayed(this.locks, response.status);
        return { kind: 'replay', response };
      }
    }
  }

  /**
   * @internal Ends a claim: stores `response`, or gives the claim back (`null`) so that a
   * retry runs again. Failures are logged, never thrown: the work has run.
   */
  async finish(claim: ActiveClaim, response: string | null): Promise<void> {
    try {
      const ended = await claim.complete(response);
      if (ended === 'lost') this.logger.warn(MESSAGES.claimLost);
      if (ended === 'lost') publishIdempotencyClaimLost(this.locks, claim.fencingToken);
    } catch (err) {
      this.logger.warn(MESSAGES.completionFailed(describeError(err)));
    }
  }

  /**
   * @internal The work threw: an `HttpException` whose status `storeIf` accepts is its
   * outcome; anything else gives the claim back. A lock the work could not take is no outcome.
   */
  async finishAfterError(
    claim: ActiveClaim,
    err: unknown,
    opts: ResolvedIdempotencyOptions,
  ): Promise<void> {
    const outcome =
      err instanceof HttpException && !isEngineError(err) && opts.storeIf(err.getStatus())
        ? errorResponse(err)
        : null;
    await this.finish(claim, outcome);
  }
}

/**
 * When to retry a request whose first is in flight: soon (most finish within a second), never
 * later than the claim's lease, after which a crashed first run no longer blocks it.
 */
function retryAfterSeconds(leaseLeftMs: number): number {
  return Math.max(1, Math.min(RETRY_AFTER_MAX_S, Math.ceil(leaseLeftMs / 1000)));
}

/** The store's name for a key: a hash, so client keys never appear in the store or in logs. */
export function storeKey(parts: readonly (string | undefined)[]): string {
  return sha256(JSON.stringify(parts), 'base64url');
}

/** Errors of the engine itself (a busy lock, the store down): the work did not really run. */
function isEngineError(err: HttpException): boolean {
  return (
    err instanceof LockNotAcquiredError ||
    err instanceof LockStoreUnavailableError ||
    err instanceof LockKeyError ||
    err instanceof IdempotencyConflictError ||
    err instanceof IdempotencyMismatchError ||
    err instanceof IdempotencyRecordError
  );
}

/** The body Nest's exception filter sends for `err`, to send again on a replay. */
export function errorResponse(err: HttpException): string | null {
  const status = err.getStatus();
  const raw = err.getResponse();
  const body = typeof raw === 'object' ? raw : { statusCode: status, message: raw };
  return serializeOutcome(status, {}, body, true) ?? null;
}

/** A stored error outcome, thrown again so that the exception filters send it as before. */
export function replayedError(response: StoredResponse): HttpException {
  const body = bodyValue(response.body);
  return new HttpException(
    typeof body === 'object' && body !== null ? body : String(body),
    response.status,
  );
}
