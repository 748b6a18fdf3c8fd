import type { ASYNC_OPTIONS_TYPE } from '../distributed-lock.module-definition';
import type { DistributedLockModuleOptions } from './distributed-lock-module-options.interface';

/**
 * Options of `DistributedLockModule.forRootAsync()`: `useFactory` (with `inject`), `useClass` or
 * `useExisting` (a `DistributedLockOptionsFactory`), `imports`, and `isGlobal`.
 */
export type DistributedLockModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/** The class of `forRootAsync({ useClass })` or `{ useExisting }`: it gives the module's options. */
export interface DistributedLockOptionsFactory {
  /** The module's options; Nest calls it once, when the module is created. */
  createDistributedLockOptions():
    DistributedLockModuleOptions | Promise<DistributedLockModuleOptions>;
}
