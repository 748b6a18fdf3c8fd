import type { ExecutionContext } from '@nestjs/common';

/** Options of `IdempotencyService.run`; unset ones fall back to the module's `idempotency`. */
export interface IdempotencyRunOptions {
  /** How long in ms a completed outcome is kept and replayed. Default: 86400000 (24 h). */
  retention?: number;
  /**
   * Lease in ms of the claim while the work runs, renewed by the watchdog: a process that dies
   * mid-run blocks the key for one lease, never for the retention. Default: 30000.
   */
  lease?: number;
  /**
   * A duplicate that arrives while the first runs: `'conflict'` rejects it at once (HTTP 409
   * with `Retry-After`); `'wait'` waits its turn (woken, fair, up to `waitTimeout`) and gets the
   * first one's outcome. Default: `'conflict'`.
   */
  onInFlight?: 'conflict' | 'wait';
  /** How long in ms a duplicate waits with `onInFlight: 'wait'`. Default: the module's `waitTimeout`. */
  waitTimeout?: number;
  /**
   * Which outcomes are kept and replayed, by HTTP status (a returned value counts as 200, a
   * thrown `HttpException` as its status); others give the claim back so a retry runs again.
   * Default: `status < 500`.
   */
  storeIf?: (status: number) => boolean;
  /**
   * When the store cannot be reached: `'throw'` rejects with `LockStoreUnavailableError` (HTTP
   * 503) and nothing runs (fail closed); `'run'` logs a warning and runs without idempotency.
   * Default: `'throw'`.
   */
  onUnavailable?: 'throw' | 'run';
}

/** Options of `@Idempotent()`, also settable as module defaults (`forRoot({ idempotency })`). */
export interface IdempotencyOptions extends IdempotencyRunOptions {
  /** The request header that carries the client's key. Default: `'Idempotency-Key'`. */
  header?: string;
  /** A request without the header: `true` answers 400; `false` runs it without idempotency. Default: true. */
  required?: boolean;
  /**
   * Whose key it is: records of different scopes never meet. Default: `request.user.id` (or
   * `.sub`) when the request has an authenticated user, else none.
   */
  scope?: (context: ExecutionContext) => string | undefined;
  /**
   * What must be the same for a retry to be a replay (a SHA-256 of its canonical JSON is
   * stored). Default: the request body.
   */
  fingerprint?: (context: ExecutionContext) => unknown;
}

/** What `IdempotencyService.run` resolves: the outcome, and whether it was a stored one. */
export interface IdempotentResult<T> {
  /** What `fn` resolved, now or in the earlier run whose outcome was stored. */
  readonly value: T;
  /** `true` when `fn` did not run and `value` is the outcome stored by an earlier run. */
  readonly replayed: boolean;
}

/** The claim the running idempotent call holds (`IdempotencyService.current()`). */
export interface IdempotencyClaim {
  /**
   * Strictly increasing across every claim of the same key: a write conditional on it (keep
   * the highest seen) refuses a run that lost its claim.
   */
  readonly fencingToken: number;
  /** Aborts with `LockLostError` the moment the claim is lost (its lease could not be renewed). */
  readonly signal: AbortSignal;
  /** Epoch ms until which the claim's lease is proven. */
  readonly validUntil: number;
  /** Whether the claim is still held: its lease is proven until now. */
  isHeld(): boolean;
}
