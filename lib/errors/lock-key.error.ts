import { BadRequestException } from '@nestjs/common';

/**
 * A `@WithLock` key template could not be resolved from the call's arguments (a value that is
 * `undefined`, `null`, empty, or not a string, number or bigint). Thrown before anything is
 * locked or run. A `BadRequestException`, so a controller answers 400.
 */
export class LockKeyError extends BadRequestException {
  /** `message` says which part of the key could not be resolved, and why. */
  constructor(message: string) {
    super(message);
    this.name = 'LockKeyError';
  }
}
