import { UseFilters } from '@nestjs/common';
import { LOCK_SERVICE_REF, WITH_LOCK_MARK } from '../distributed-lock.constants';
import { LockExceptionFilter } from '../errors/lock-exception.filter';
import { LockNotAcquiredError } from '../errors/lock-not-acquired.error';
import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import { MESSAGES } from '../distributed-lock.messages';
import { LockKeyTemplateError } from '../errors/lock-key-template.error';
import type { WithLockOptions } from '../interfaces/with-lock-options.interface';
import { compileKeyTemplate, KeyTemplate } from '../key-template';
import { validateLockOptions } from '../lock-options';
import { LockService } from '../lock.service';
import { assertPermits, assertTimerMs } from '../validation/number-options';
import { WITH_LOCK_OPTION_NAMES, WITH_SEMAPHORE_OPTION_NAMES } from '../validation/option-names';
import { assertOneOf } from '../validation/option-types';
import { unwrap, wrapMethod } from './copy-metadata';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Holds a distributed lock while the method runs: taken before it starts, released on every
 * path. The key comes from the call's arguments: `'order:<userId>'` uses the parameter
 * `userId`, `<dto.user.id>` a path inside a parameter, `<0>` the first argument; an array of
 * templates locks every key (all or none); a function `(...args) => key | keys` computes them.
 * `{ mode: 'read' | 'write' }` makes it a read-write lock. The method then returns a promise.
 */
export function WithLock(template: KeyTemplate, options: WithLockOptions = {}): MethodDecorator {
  validateWithLockOptions(options, WITH_LOCK_OPTION_NAMES, '@WithLock');
  return lockedMethod('@WithLock', template, options, 0);
}

/**
 * Holds one of `permits` permits of a semaphore while the method runs: at most `permits`
 * calls on the same key run at once across every process. Same templates and options as
 * `@WithLock` (without `mode`).
 */
export function WithSemaphore(
  template: string | ((...args: never[]) => string),
  permits: number,
  options: Omit<WithLockOptions, 'mode' | 'holdAtLeast'> = {},
): MethodDecorator {
  assertPermits(permits, '@WithSemaphore');
  validateWithLockOptions(options, WITH_SEMAPHORE_OPTION_NAMES, '@WithSemaphore');
  return lockedMethod('@WithSemaphore', template, options, permits);
}

function lockedMethod(
  decorator: string,
  template: KeyTemplate,
  options: WithLockOptions,
  permits: number,
): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const className =
      typeof target === 'function' ? target.name : (target.constructor?.name ?? 'anonymous');
    const methodName = String(propertyKey);
    const where = `${className}.${methodName}`;
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') {
      throw new LockKeyTemplateError(`${decorator} on ${where}: only methods can be locked.`);
    }
    const keys = compileKeyTemplate(template, unwrap(original), { className, methodName });
    const method = original as AnyMethod;

    const locked = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      try {
        const resolved = keys.resolve(args);
        if (permits > 0 && resolved.length !== 1) {
          throw new LockKeyTemplateError(`${decorator} on ${where}: a semaphore takes one key.`);
        }
        const service = serviceFor(this, where);
        const run = () => method.apply(this, args);
        // A stand-in given by the application's tests (`overrideProvider(LockService)`) is
        // driven through the public API.
        return typeof service.runWithLock === 'function'
          ? service.runWithLock(resolved, run, options, permits)
          : runThroughPublicApi(service, resolved, run, options, permits);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    wrapMethod(method, locked);
    // On a handler (HTTP, microservice, gateway, resolver) its lock errors reach the client in
    // that context's own shape; on any other method this metadata is never read.
    UseFilters(LockExceptionFilter)(target, propertyKey, { value: locked });
    Object.defineProperty(target, WITH_LOCK_MARK, { value: true, configurable: true });
    descriptor.value = locked as typeof descriptor.value;
    return descriptor;
  };
}

/** `@WithLock` over `using` and `semaphore(...).using`, for a LockService stand-in. */
async function runThroughPublicApi(
  service: LockService,
  keys: readonly string[],
  run: () => unknown,
  options: WithLockOptions,
  permits: number,
): Promise<unknown> {
  const skip = options.onLocked === 'skip';
  const opts = {
    ttl: options.ttl,
    autoExtend: options.autoExtend,
    waitTimeout: options.waitTimeout ?? (skip ? 0 : undefined),
  };
  try {
    if (permits > 0) return await service.semaphore(keys[0], permits).using(run, opts);
    if (keys.length === 1)
      return await service.using(keys[0], run, { ...opts, mode: options.mode });
    return await service.using(keys, run, { ...opts, mode: options.mode });
  } catch (err) {
    if (skip && err instanceof LockNotAcquiredError) return undefined;
    if (options.onUnavailable === 'run' && err instanceof LockStoreUnavailableError) return run();
    throw err;
  }
}

function serviceFor(instance: unknown, where: string): LockService {
  const bound =
    typeof instance === 'object' || typeof instance === 'function'
      ? (instance as Record<symbol, LockService | undefined> | null)?.[LOCK_SERVICE_REF]
      : undefined;
  if (bound) return bound;
  const sole = LockService.soleLiveService();
  if (sole) return sole;
  throw new Error(
    LockService.liveServiceCount() > 1
      ? MESSAGES.ambiguousService(where)
      : MESSAGES.notRegistered(where),
  );
}

function validateWithLockOptions(
  options: unknown,
  names: readonly string[],
  decorator: string,
): asserts options is WithLockOptions {
  const label = `${decorator} option`;
  validateLockOptions(options, names, label);
  const { onLocked, onUnavailable, holdAtLeast } = options as WithLockOptions;
  if (holdAtLeast !== undefined) assertTimerMs(holdAtLeast, 'holdAtLeast', label);
  if (onLocked !== undefined) assertOneOf(onLocked, ['throw', 'skip'], 'onLocked', label);
  if (onUnavailable !== undefined) {
    assertOneOf(onUnavailable, ['throw', 'run'], 'onUnavailable', label);
  }
}
