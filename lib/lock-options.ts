import {
  DEFAULT_AUTO_EXTEND,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_KEY_PREFIX,
  DEFAULT_RECHECK_INTERVAL_MS,
  DEFAULT_REENTRANT,
  DEFAULT_TTL_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
} from './distributed-lock.constants';
import type { DistributedLockModuleOptions } from './interfaces/distributed-lock-module-options.interface';
import type { LockMode, LockOptions } from './interfaces/lock-options.interface';
import type { IdempotencyOptions } from './interfaces/idempotency-options.interface';
import { describeValue } from './validation/describe-value';
import { assertKnownOptions } from './validation/known-options';
import { assertCount, assertTimerMs, assertWaitTimeout } from './validation/number-options';
import {
  LOCK_OPTION_NAMES,
  MODULE_EXTRA_NAMES,
  MODULE_OPTION_NAMES,
} from './validation/option-names';
import { assertBoolean, assertOneOf } from './validation/option-types';
import { assertRedisOption } from './validation/redis-option';
import { assertRedlockOption } from './validation/redlock-option';
import { assertEtcdOption } from './stores/etcd/etcd-option';
import { assertStoreOptions } from './validation/store-option';
import { validateIdempotencyOptions } from './idempotency/idempotency-options';
import { IDEMPOTENCY_OPTION_NAMES } from './validation/option-names';

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
  commandTimeout: number;
  syncReplicas: number;
  syncTimeout: number;
  evictionPolicy: (typeof EVICTION_POLICIES)[number];
  /** Defaults of idempotent calls, as given (resolved per call). */
  idempotency: IdempotencyOptions | undefined;
}

const MODES: readonly LockMode[] = ['exclusive', 'read', 'write'];
const EVICTION_POLICIES = ['warn', 'throw', 'ignore'] as const;
const MODULE_LABEL = 'DistributedLockModule option';
const LOCK_LABEL = 'Lock option';

/**
 * Checks what a caller passed, names first: every name must be in `names`, and the value of
 * each acquisition option (ttl, waitTimeout, autoExtend, mode, signal) present must be valid.
 * Unset options are left unset. `label` starts messages, e.g. `'@WithLock option'`.
 */
export function validateLockOptions(
  options: unknown,
  names: readonly string[] = LOCK_OPTION_NAMES,
  label = LOCK_LABEL,
): void {
  if (options === undefined) return;
  assertKnownOptions(options, names, label);
  const { ttl, waitTimeout, autoExtend, mode, signal } = options;
  if (ttl !== undefined) assertTimerMs(ttl, 'ttl', label);
  if (waitTimeout !== undefined) assertWaitTimeout(waitTimeout, label);
  if (autoExtend !== undefined) assertBoolean(autoExtend, 'autoExtend', label);
  if (mode !== undefined) assertOneOf(mode, MODES, 'mode', label);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${label} \`signal\` must be an AbortSignal, got ${describeValue(signal)}.`,
    );
  }
}

/** Checks every module option that is set; names first, so a typo is reported as one. */
function validateModuleOptions(options: unknown): asserts options is DistributedLockModuleOptions {
  assertKnownOptions(options, MODULE_OPTION_NAMES, MODULE_LABEL, MODULE_EXTRA_NAMES);
  const label = MODULE_LABEL;
  const { keyPrefix, ttl, waitTimeout, autoExtend, recheckInterval, reentrant } = options;
  assertRedisOption(options.redis);
  assertStoreOptions(options);
  assertRedlockOption(options.redlock, options);
  assertEtcdOption(options.etcd, options);
  if (keyPrefix !== undefined) assertKeyPrefix(keyPrefix);
  if (ttl !== undefined) assertTimerMs(ttl, 'ttl', label);
  if (waitTimeout !== undefined) assertWaitTimeout(waitTimeout, label);
  if (autoExtend !== undefined) assertBoolean(autoExtend, 'autoExtend', label);
  if (recheckInterval !== undefined) assertTimerMs(recheckInterval, 'recheckInterval', label);
  if (reentrant !== undefined) assertBoolean(reentrant, 'reentrant', label);
  const { commandTimeout, syncReplicas, syncTimeout, evictionPolicy } = options;
  if (commandTimeout !== undefined) assertTimerMs(commandTimeout, 'commandTimeout', label);
  if (syncReplicas !== undefined) assertCount(syncReplicas, 'syncReplicas', label);
  if (syncTimeout !== undefined) assertTimerMs(syncTimeout, 'syncTimeout', label);
  if (evictionPolicy !== undefined) {
    assertOneOf(evictionPolicy, EVICTION_POLICIES, 'evictionPolicy', label);
  }
  if (options.idempotency !== undefined) {
    validateIdempotencyOptions(
      options.idempotency,
      IDEMPOTENCY_OPTION_NAMES,
      'DistributedLockModule `idempotency` option',
    );
  }
}

function assertKeyPrefix(keyPrefix: unknown): void {
  if (typeof keyPrefix !== 'string') {
    throw new TypeError(
      `${MODULE_LABEL} \`keyPrefix\` must be a string, got ${describeValue(keyPrefix)}.`,
    );
  }
  // The module puts each key's hash tag ({...}) after the prefix; braces in the prefix would
  // make Redis Cluster hash the prefix instead, and a lock's keys could land on other slots.
  if (/[{}]/.test(keyPrefix)) {
    throw new TypeError(
      `${MODULE_LABEL} \`keyPrefix\` must not contain { or } (they would break Redis Cluster ` +
        `hash tags), got ${describeValue(keyPrefix)}.`,
    );
  }
}

export function resolveModuleOptions(options: DistributedLockModuleOptions): ResolvedModuleOptions {
  validateModuleOptions(options);
  const recheckInterval = options.recheckInterval ?? DEFAULT_RECHECK_INTERVAL_MS;
  const reentrant = options.reentrant ?? DEFAULT_REENTRANT;
  return {
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    ttl: options.ttl ?? DEFAULT_TTL_MS,
    waitTimeout: options.waitTimeout ?? DEFAULT_WAIT_TIMEOUT_MS,
    autoExtend: options.autoExtend ?? DEFAULT_AUTO_EXTEND,
    recheckInterval,
    reentrant,
    commandTimeout: options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS,
    syncReplicas: options.syncReplicas ?? 0,
    syncTimeout: options.syncTimeout ?? DEFAULT_SYNC_TIMEOUT_MS,
    evictionPolicy: options.evictionPolicy ?? 'warn',
    idempotency: options.idempotency,
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
