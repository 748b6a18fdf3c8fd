import { SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { IdempotencyProblemFilter } from '../idempotency/idempotency-problem.filter';
import { IDEMPOTENT_OPTIONS } from '../distributed-lock.constants';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { validateIdempotencyOptions } from '../idempotency/idempotency-options';
import { markHandlerStarted } from '../idempotency/idempotency-scope';
import type { IdempotencyOptions } from '../interfaces/idempotency-options.interface';
import { IDEMPOTENCY_OPTION_NAMES } from '../validation/option-names';
import { wrapMethod } from './copy-metadata';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Makes an HTTP handler idempotent per the Idempotency-Key header: the first request with a
 * key runs and its response (status, body, allowed headers) is stored; a retry with the same
 * key and body, on any instance, gets that response again with `Idempotent-Replayed: true`.
 * Options fall back to the module's `idempotency` defaults.
 */
export function Idempotent(options: IdempotencyOptions = {}): MethodDecorator {
  validateIdempotencyOptions(options, IDEMPOTENCY_OPTION_NAMES, '@Idempotent option');
  return (target, propertyKey, descriptor) => {
    const className =
      typeof target === 'function' ? target.name : (target.constructor?.name ?? 'anonymous');
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') {
      throw new TypeError(
        `@Idempotent on ${className}.${String(propertyKey)}: only methods can be idempotent.`,
      );
    }
    const method = original as AnyMethod;
    // Marks the moment the handler itself starts: a pipe that refuses the request before it
    // leaves no outcome to store.
    const marked = function (this: unknown, ...args: unknown[]): unknown {
      markHandlerStarted();
      return method.apply(this, args);
    };
    wrapMethod(method, marked);
    descriptor.value = marked as typeof descriptor.value;
    SetMetadata(IDEMPOTENT_OPTIONS, options)(target, propertyKey, descriptor);
    UseInterceptors(IdempotencyInterceptor)(target, propertyKey, descriptor);
    UseFilters(IdempotencyProblemFilter)(target, propertyKey, descriptor);
    return descriptor;
  };
}
