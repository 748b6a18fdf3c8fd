import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConfigurableModuleClass } from './distributed-lock.module-definition';
import { LockBindingExplorer } from './lock-binding.explorer';
import { LockService } from './lock.service';

/**
 * Registers `LockService` and makes `@WithLock` work on this application's providers and
 * controllers. `forRoot(options)` or `forRootAsync({ imports, inject, useFactory })`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [LockService, LockBindingExplorer],
  exports: [LockService],
})
export class DistributedLockModule extends ConfigurableModuleClass {}
