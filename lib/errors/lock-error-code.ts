/** What went wrong, for clients outside HTTP (microservices, WebSockets, GraphQL) and logs. */
export type LockErrorCode =
  | 'LOCK_NOT_ACQUIRED'
  | 'LOCK_KEY_INVALID'
  | 'LOCK_STORE_UNAVAILABLE'
  | 'IDEMPOTENCY_KEY_INVALID'
  | 'IDEMPOTENCY_IN_FLIGHT'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_RECORD_UNREADABLE';

/**
 * The body every lock error carries: Nest's own shape (`statusCode`, `message`, `error`, which
 * `@nestjs/apollo` maps into a GraphQL error's extensions) plus the `code`.
 */
export interface LockErrorBody {
  readonly statusCode: number;
  readonly message: string;
  readonly error: string;
  readonly code: LockErrorCode;
}

/** A client should try again after this many seconds (HTTP `Retry-After` on a 409). */
export const RETRY_AFTER_SECONDS = 1;
