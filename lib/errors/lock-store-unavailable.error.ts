import { HttpException, HttpStatus } from '@nestjs/common';
import { MESSAGES } from '../distributed-lock.messages';

/**
 * The lock store (Redis) could not be reached or answered with an error, so the lock was not
 * taken and the guarded code did not run (fail closed). An `HttpException` with status 503.
 * The underlying error is kept in `cause` and never sent to HTTP clients.
 */
export class LockStoreUnavailableError extends HttpException {
  /** `cause` is the store's own error, kept for logs. */
  constructor(cause: unknown) {
    super(MESSAGES.unavailable, HttpStatus.SERVICE_UNAVAILABLE, { cause });
    this.name = 'LockStoreUnavailableError';
  }
}
