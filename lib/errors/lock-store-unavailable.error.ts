import { HttpException, HttpStatus } from '@nestjs/common';
import { MESSAGES } from '../distributed-lock.messages';
import type { LockErrorBody } from './lock-error-code';

/**
 * The lock store (Redis) could not be reached or answered with an error, so the lock was not
 * taken and the guarded code did not run (fail closed). An `HttpException` with status 503.
 * The underlying error is kept in `cause` and never sent to clients.
 */
export class LockStoreUnavailableError extends HttpException {
  readonly code = 'LOCK_STORE_UNAVAILABLE';

  /** `cause` is the store's own error, kept for logs. */
  constructor(cause: unknown) {
    const body: LockErrorBody = {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      message: MESSAGES.unavailable,
      error: 'Service Unavailable',
      code: 'LOCK_STORE_UNAVAILABLE',
    };
    super(body, HttpStatus.SERVICE_UNAVAILABLE, { cause });
    this.name = 'LockStoreUnavailableError';
  }
}
