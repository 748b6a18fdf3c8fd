import { BadRequestException, HttpStatus } from '@nestjs/common';
import { MESSAGES } from '../distributed-lock.messages';
import type { LockErrorBody } from './lock-error-code';

/**
 * A `@WithLock` key template could not be resolved from the call's arguments (a value that is
 * `undefined`, `null`, empty, or not a string, number or bigint). Thrown before anything is
 * locked or run. A `BadRequestException`, so a controller answers 400. Its `message` names the
 * method and the part of the key, for the server's log; the body sent to clients does not.
 */
export class LockKeyError extends BadRequestException {
  readonly code = 'LOCK_KEY_INVALID';

  /** `message` says which part of the key could not be resolved, and why. */
  constructor(message: string) {
    const body: LockErrorBody = {
      statusCode: HttpStatus.BAD_REQUEST,
      message: MESSAGES.keyInvalid,
      error: 'Bad Request',
      code: 'LOCK_KEY_INVALID',
    };
    super(body);
    this.message = message;
    this.name = 'LockKeyError';
  }
}
