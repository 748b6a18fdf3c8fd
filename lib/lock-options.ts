import {
  DEFAULT_AUTO_EXTEND,
  DEFAULT_KEY_PREFIX,
  DEFAULT_RECHECK_INTERVAL_MS,
  DEFAULT_REENTRANT,
  DEFAULT_TTL_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
} from './distributed-lock.constants';
import type { DistributedLockModuleOptions } from './interfaces/distributed-lock-module-options.interface';
import type { LockMode, LockOptions } from './interfaces/lock-options.interface';
import { assertTtl } from './lock-handle';

export interface ResolvedLockOptions {
  ttl: number;
  waitTimeout: number;
  autoExtend: boolean;
  mode: LockMode;
  signal: AbortSignal | undefined;
}

export interface ResolvedModuleOptions {
  keyPrefix: string;
  ttl: number;
  waitTimeout: number;
  autoExtend: boolean;
  recheckInterval: number;
  reentrant: boolean;
}

const MODES: readonly LockMode[] = ['exclusive', 'read', 'write'];

export function assertWaitTimeout(value: unknown): asserts value is number {
  // Infinity is allowed: wait until the lock is free or the signal aborts.
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(
      `Lock option \`waitTimeout\` must be a number of ms >= 0, got ${String(value)}.`,
    );
  }
}

function assertBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`Lock option \`${name}\` must be a boolean, got ${String(value)}.`);
  }
}

/** Checks what a caller passed; unset options are left unset. */
export function validateLockOptions(options: LockOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Lock options must be an object.');
  }
  if (options.ttl !== undefined) assertTtl(options.ttl);
  if (options.waitTimeout !== undefined) assertWaitTimeout(options.waitTimeout);
  if (options.autoExtend !== undefined) assertBoolean(options.autoExtend, 'autoExtend');
  if (options.mode !== undefined && !MODES.includes(options.mode)) {
    throw new TypeError(
      `Lock option \`mode\` must be 'exclusive', 'read' or 'write', got ${String(options.mode)}.`,
    );
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError('Lock option `signal` must be an AbortSignal.');
  }
}

export function resolveModuleOptions(options: DistributedLockModuleOptions): ResolvedModuleOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('DistributedLockModule options must be an object.');
  }
  validateLockOptions(options);
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (typeof keyPrefix !== 'string') {
    throw new TypeError('DistributedLockModule option `keyPrefix` must be a string.');
  }
  const recheckInterval = options.recheckInterval ?? DEFAULT_RECHECK_INTERVAL_MS;
  assertTtl(recheckInterval, 'recheckInterval');
  const reentrant = options.reentrant ?? DEFAULT_REENTRANT;
  assertBoolean(reentrant, 'reentrant');
  return {
    keyPrefix,
    ttl: options.ttl ?? DEFAULT_TTL_MS,
    waitTimeout: options.waitTimeout ?? DEFAULT_WAIT_TIMEOUT_MS,
    autoExtend: options.autoExtend ?? DEFAULT_AUTO_EXTEND,
    recheckInterval,
    reentrant,
  };
}

export function resolveLockOptions(
  defaults: ResolvedModuleOptions,
  options: LockOptions | undefined,
): ResolvedLockOptions {
  if (options === undefined) {
    return {
      ttl: defaults.ttl,
      waitTimeout: defaults.waitTimeout,
      autoExtend: defaults.autoExtend,
      mode: 'exclusive',
      signal: undefined,
    };
  }
  validateLockOptions(options);
  return {
    ttl: options.ttl ?? defaults.ttl,
    waitTimeout: options.waitTimeout ?? defaults.waitTimeout,
    autoExtend: options.autoExtend ?? defaults.autoExtend,
    mode: options.mode ?? 'exclusive',
    signal: options.signal,
  };
}
