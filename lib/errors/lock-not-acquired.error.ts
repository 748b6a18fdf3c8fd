import { HttpException, HttpStatus } from '@nestjs/common';
import { MESSAGES } from '../distributed-lock.messages';

/**
 * The lock is held by someone else and could not be taken within `waitTimeout`.
 * An `HttpException` with status 409, so a controller answers 409 Conflict without a filter.
 * The message never contains the key: keys are built from request data.
 */
export class LockNotAcquiredError extends HttpException {
  /** The 409 body is a fixed message; `key` and `waitedMs` are for the server side only. */
  constructor(
    /** The key (or keys) that could not be locked, as the caller gave it. */
    readonly key: string | readonly string[],
    /** How long the caller waited, in ms. */
    readonly waitedMs: number,
  ) {
    super(MESSAGES.notAcquired, HttpStatus.CONFLICT);
    this.name = 'LockNotAcquiredError';
  }
}
