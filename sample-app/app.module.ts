import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { DistributedLockModule } from '../lib';
import { AppConfig, resolveAppConfig } from './config/app.config';
import { AppConfigModule } from './config/app-config.module';
import { InventoryModule } from './inventory/inventory.module';
import { OrdersModule } from './orders/orders.module';
import { ReportsModule } from './reports/reports.module';

/** Use `createAppModule(options)` to get a configured instance of this module. */
@Module({})
export class AppModule {}

/**
 * The application module for one configuration. With `redisUrl` the locks and the inventory
 * live in that Redis; without it both live in memory (fine for one process, and the lock
 * library logs a warning that locks are then not distributed). `scheduleEnabled: false`
 * leaves out `ScheduleModule`, so the report job never fires.
 */
export function createAppModule(options: Partial<AppConfig> = {}): DynamicModule {
  const config = resolveAppConfig(options);
  return {
    module: AppModule,
    imports: [
      AppConfigModule.forRoot(config),
      // Global, so any feature (and test) can inject LockService; @WithLock needs no import.
      DistributedLockModule.forRoot({
        ...(config.redisUrl ? { redis: config.redisUrl } : {}),
        isGlobal: true,
      }),
      ...(config.scheduleEnabled ? [ScheduleModule.forRoot()] : []),
      OrdersModule,
      InventoryModule,
      ReportsModule,
    ],
  };
}
