import { HttpException, HttpStatus } from '@nestjs/common';
import type { KeyProblem } from '../idempotency/idempotency-key';
import type { LockErrorCode } from './lock-error-code';

/** An RFC 9457 problem body; the client's key is never part of it. */
export interface ProblemDetails {
  /** A URI that identifies the kind of problem. */
  readonly type: string;
  /** A short summary of the kind of problem. */
  readonly title: string;
  /** The HTTP status code. */
  readonly status: number;
  /** What went wrong with this request. */
  readonly detail: string;
  /** An extension member: the error's code, as lock errors carry it outside HTTP. */
  readonly code: LockErrorCode;
}

const PROBLEM_BASE = 'https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/';

function problem(
  status: number,
  title: string,
  detail: string,
  code: LockErrorCode,
): ProblemDetails {
  return { type: PROBLEM_BASE, title, status, detail, code };
}

const KEY_DETAIL: Record<KeyProblem, (header: string) => string> = {
  missing: (header) => `This operation requires the ${header} header.`,
  repeated: (header) => `The ${header} header must be sent once.`,
  invalid: (header) =>
    `The ${header} header must be 1 to 255 printable ASCII characters, bare or as a quoted string.`,
};

/** 400: the idempotency key header is missing, repeated or malformed. */
export class IdempotencyKeyError extends HttpException {
  readonly code = 'IDEMPOTENCY_KEY_INVALID';
  /** Builds the 400 problem body for `header` and what is wrong with it. */
  constructor(
    /** The name of the idempotency key header. */
    readonly header: string,
    /** What is wrong with the header: `'missing'`, `'repeated'` or `'invalid'`. */
    readonly problem: KeyProblem,
  ) {
    super(problem400(header, problem), HttpStatus.BAD_REQUEST);
    this.name = 'IdempotencyKeyError';
  }
}

function problem400(header: string, why: KeyProblem): ProblemDetails {
  return problem(
    400,
    'Invalid idempotency key',
    KEY_DETAIL[why](header),
    'IDEMPOTENCY_KEY_INVALID',
  );
}

/** 409: a request with the same key is still being processed; retry after `retryAfterSeconds`. */
export class IdempotencyConflictError extends HttpException {
  readonly code = 'IDEMPOTENCY_IN_FLIGHT';
  /** Builds the 409 problem body; `retryAfterSeconds` is sent as `Retry-After`. */
  constructor(
    /** When the client may retry, in seconds. */
    readonly retryAfterSeconds: number,
  ) {
    super(
      problem(
        409,
        'Request in progress',
        'A request with the same idempotency key is being processed; retry later.',
        'IDEMPOTENCY_IN_FLIGHT',
      ),
      HttpStatus.CONFLICT,
    );
    this.name = 'IdempotencyConflictError';
  }
}

/** 422: the key was used before with a different request (another fingerprint). */
export class IdempotencyMismatchError extends HttpException {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  /** Builds the 422 problem body. */
  constructor() {
    super(
      problem(
        422,
        'Idempotency key reused',
        'This idempotency key was already used with a different request.',
        'IDEMPOTENCY_KEY_REUSED',
      ),
      HttpStatus.UNPROCESSABLE_ENTITY,
    );
    this.name = 'IdempotencyMismatchError';
  }
}

/** 500: the stored outcome for this key cannot be read back; the work is not run again. */
export class IdempotencyRecordError extends HttpException {
  readonly code = 'IDEMPOTENCY_RECORD_UNREADABLE';
  /** Builds the 500 problem body. */
  constructor() {
    super(
      problem(
        500,
        'Stored response unreadable',
        'The stored outcome of this request cannot be read back; it was not run again.',
        'IDEMPOTENCY_RECORD_UNREADABLE',
      ),
      HttpStatus.INTERNAL_SERVER_ERROR,
    );
    this.name = 'IdempotencyRecordError';
  }
}
