export { DistributedLockModule } from './distributed-lock.module';
export { LockService } from './lock.service';
export { WithLock } from './decorators/with-lock.decorator';
export type { KeyTemplate } from './key-template';
export * from './errors';
export type {
  DistributedLockModuleOptions,
  RedisClientLike,
} from './interfaces/distributed-lock-module-options.interface';
export type { LockOptions } from './interfaces/lock-options.interface';
export type { WithLockOptions } from './interfaces/with-lock-options.interface';
export type { Lock, MultiLock } from './interfaces/lock.interface';
