import { HttpException, HttpStatus } from '@nestjs/common';
import { MESSAGES } from '../distributed-lock.messages';
import { LockErrorBody, RETRY_AFTER_SECONDS } from './lock-error-code';

/**
 * The lock is held by someone else and could not be taken within `waitTimeout`.
 * An `HttpException` with status 409, so a controller answers 409 Conflict without a filter.
 * The message never contains the key: keys are built from request data.
 */
export class LockNotAcquiredError extends HttpException {
  readonly code = 'LOCK_NOT_ACQUIRED';
  /** When a client may try again, in seconds: HTTP answers carry it as `Retry-After`. */
  readonly retryAfterSeconds = RETRY_AFTER_SECONDS;

  constructor(
    /** The key (or keys) that could not be locked, as the caller gave it. */
    readonly key: string | readonly string[],
    /** How long the caller waited, in ms. */
    readonly waitedMs: number,
  ) {
    const body: LockErrorBody = {
      statusCode: HttpStatus.CONFLICT,
      message: MESSAGES.notAcquired,
      error: 'Conflict',
      code: 'LOCK_NOT_ACQUIRED',
    };
    super(body, HttpStatus.CONFLICT);
    this.name = 'LockNotAcquiredError';
  }
}
