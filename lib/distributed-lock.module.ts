import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConfigurableModuleClass } from './distributed-lock.module-definition';
import { LockBindingExplorer } from './lock-binding.explorer';
import { LockService } from './lock.service';
import { IdempotencyService } from './idempotency/idempotency.service';

/**
 * Registers `LockService` and `IdempotencyService`, and makes `@WithLock` work on this application's providers and
 * controllers. `forRoot(options)` or `forRootAsync({ imports, inject, useFactory })`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [LockService, IdempotencyService, LockBindingExplorer],
  exports: [LockService, IdempotencyService],
})
export class DistributedLockModule extends ConfigurableModuleClass {}
