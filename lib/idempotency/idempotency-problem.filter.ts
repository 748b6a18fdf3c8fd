import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  IdempotencyConflictError,
  IdempotencyKeyError,
  IdempotencyMismatchError,
  IdempotencyRecordError,
} from '../errors/idempotency.errors';

const PROBLEM_TYPE = 'application/problem+json';

/**
 * Sends the idempotency refusals (400, 409, 422, 500) as `application/problem+json`, a 409
 * with `Retry-After`. The body goes out as text: Nest's Express adapter would replace a
 * non-JSON content type of an error body that it serialises itself.
 */
@Catch(
  IdempotencyKeyError,
  IdempotencyConflictError,
  IdempotencyMismatchError,
  IdempotencyRecordError,
)
export class IdempotencyProblemFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(err: HttpException, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    if (err instanceof IdempotencyConflictError) {
      adapter.setHeader(response, 'Retry-After', String(err.retryAfterSeconds));
    }
    adapter.setHeader(response, 'Content-Type', PROBLEM_TYPE);
    adapter.reply(response, JSON.stringify(err.getResponse()), err.getStatus());
  }
}
