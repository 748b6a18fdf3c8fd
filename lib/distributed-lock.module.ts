import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { LockExceptionFilter } from './errors/lock-exception.filter';
import { ConfigurableModuleClass, OPTIONS_TYPE } from './distributed-lock.module-definition';
import { LockBindingExplorer } from './lock-binding.explorer';
import { LockService } from './lock.service';
import { IdempotencyService } from './idempotency/idempotency.service';
import { LockEvents } from './events/lock-events.service';
import { LeaderElectionExplorer } from './leader/leader-election.explorer';
import { LeaderElectionService } from './leader/leader-election.service';

/**
 * Registers `LockService` and `IdempotencyService`, and makes `@WithLock` and `@Idempotent()`
 * work on this application's providers and controllers. `forRoot(options)` (no options: the
 * in-memory store) or `forRootAsync({ imports, inject, useFactory | useClass | useExisting })`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    LockService,
    IdempotencyService,
    LockBindingExplorer,
    LockEvents,
    LeaderElectionService,
    LeaderElectionExplorer,
    // Only the lock errors: every other error goes to the application's own filters.
    { provide: APP_FILTER, useClass: LockExceptionFilter },
  ],
  exports: [LockService, IdempotencyService, LockEvents, LeaderElectionService],
})
export class DistributedLockModule extends ConfigurableModuleClass {
  /** The module with `options`; without any, on the in-memory store (one process only). */
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
