import type {
  DistributedLockModuleOptions,
  EtcdConnectionOptions,
  RedlockOptions,
} from '../interfaces/distributed-lock-module-options.interface';
import type { LockOptions } from '../interfaces/lock-options.interface';
import type { WithLockOptions } from '../interfaces/with-lock-options.interface';
import type {
  IdempotencyOptions,
  IdempotencyRunOptions,
} from '../interfaces/idempotency-options.interface';

// Every option name a caller may pass, one list per options type: a name missing here is
// rejected as unknown. A new option is added to its interface and to its list(s) here.

/** `DistributedLockModule.forRoot()` / `new LockService()` options. */
export const MODULE_OPTION_NAMES = [
  'redis',
  'redlock',
  'etcd',
  'postgres',
  'store',
  'keyPrefix',
  'ttl',
  'waitTimeout',
  'autoExtend',
  'recheckInterval',
  'reentrant',
  'commandTimeout',
  'syncReplicas',
  'syncTimeout',
  'evictionPolicy',
  'idempotency',
] as const;

/** The module's `redlock` option. */
export const REDLOCK_OPTION_NAMES = [
  'masters',
  'driftFactor',
  'retryJitter',
  'masterTimeout',
] as const;

/** The module's `etcd` option, when it is connection settings. */
export const ETCD_OPTION_NAMES = ['hosts', 'auth', 'credentials'] as const;

/**
 * Extras of the module builder (`setExtras`): `forRoot` strips them, but a `forRootAsync`
 * factory may return them with the options. Accepted and ignored, never suggested.
 */
export const MODULE_EXTRA_NAMES = ['isGlobal'] as const;

/** `LockService.acquire` / `tryAcquire` / `using` options. */
export const LOCK_OPTION_NAMES = ['ttl', 'waitTimeout', 'autoExtend', 'mode', 'signal'] as const;

/** `@WithLock` options. */
export const WITH_LOCK_OPTION_NAMES = [
  'ttl',
  'waitTimeout',
  'autoExtend',
  'mode',
  'onLocked',
  'onUnavailable',
  'holdAtLeast',
] as const;

/** `@WithSemaphore` options. */
export const WITH_SEMAPHORE_OPTION_NAMES = [
  'ttl',
  'waitTimeout',
  'autoExtend',
  'onLocked',
  'onUnavailable',
] as const;

/** `Semaphore.acquire` / `tryAcquire` / `using` options. */
export const PERMIT_OPTION_NAMES = ['ttl', 'waitTimeout', 'autoExtend', 'signal'] as const;

/** `IdempotencyService.run` options. */
export const IDEMPOTENCY_RUN_OPTION_NAMES = [
  'retention',
  'lease',
  'onInFlight',
  'waitTimeout',
  'storeIf',
  'onUnavailable',
] as const;

/** `@Idempotent()` options and the module's `idempotency` defaults. */
export const IDEMPOTENCY_OPTION_NAMES = [
  ...IDEMPOTENCY_RUN_OPTION_NAMES,
  'header',
  'required',
  'scope',
  'fingerprint',
] as const;

// Compile-time guard: each interface's options are all listed (fails to compile otherwise).
type Unlisted<T, Names extends readonly string[]> = Exclude<keyof T, Names[number]>;
const allListed: [
  Unlisted<DistributedLockModuleOptions, typeof MODULE_OPTION_NAMES>,
  Unlisted<RedlockOptions, typeof REDLOCK_OPTION_NAMES>,
  Unlisted<EtcdConnectionOptions, typeof ETCD_OPTION_NAMES>,
  Unlisted<LockOptions, typeof LOCK_OPTION_NAMES>,
  Unlisted<WithLockOptions, typeof WITH_LOCK_OPTION_NAMES>,
  Unlisted<Omit<WithLockOptions, 'mode' | 'holdAtLeast'>, typeof WITH_SEMAPHORE_OPTION_NAMES>,
  Unlisted<Omit<LockOptions, 'mode'>, typeof PERMIT_OPTION_NAMES>,
  Unlisted<IdempotencyRunOptions, typeof IDEMPOTENCY_RUN_OPTION_NAMES>,
  Unlisted<IdempotencyOptions, typeof IDEMPOTENCY_OPTION_NAMES>,
] extends [never, never, never, never, never, never, never, never, never]
  ? true
  : false = true;
void allListed;
