export { DistributedLockModule } from './distributed-lock.module';
export { LockService } from './lock.service';
export { WithLock, WithSemaphore } from './decorators/with-lock.decorator';
export { Semaphore } from './semaphore';
export { Idempotent } from './decorators/idempotent.decorator';
export { IdempotencyService } from './idempotency/idempotency.service';
export * from './leader';
export * from './events';
export type {
  IdempotencyClaim,
  IdempotencyOptions,
  IdempotencyRunOptions,
  IdempotentResult,
} from './interfaces/idempotency-options.interface';
export type { PermitOptions } from './semaphore';
export type { KeyTemplate } from './key-template';
export * from './errors';
export { LockExceptionFilter } from './errors/lock-exception.filter';
export type { LockErrorPayload } from './errors/lock-exception.filter';
export type {
  DistributedLockModuleOptions,
  RedisClientLike,
} from './interfaces/distributed-lock-module-options.interface';
export type {
  AcquireMiss,
  ClaimReply,
  CompleteReply,
  LockStore,
  StoreHealth,
} from './stores/lock-store.interface';
export type { HoldMode, LockResource } from './stores/lock-resource';
export type { CallBound } from './stores/call-bound';
export { Waiter } from './stores/waiter';
export type { HandOver } from './stores/waiter';
export { WaiterRegistry } from './stores/waiter-registry';
export type {
  PostgresOption,
  PostgresPoolLike,
  PostgresPoolOptions,
} from './stores/postgres/postgres-pool-like';
export type {
  DistributedLockModuleAsyncOptions,
  DistributedLockOptionsFactory,
} from './interfaces/distributed-lock-module-async-options.interface';
export type { LockMode, LockOptions } from './interfaces/lock-options.interface';
export type { WithLockOptions } from './interfaces/with-lock-options.interface';
export type { HeldLock, Lock, MultiLock } from './interfaces/lock.interface';
