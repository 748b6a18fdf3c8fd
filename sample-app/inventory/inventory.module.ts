import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { INVENTORY_STORE, InventoryStore } from './inventory-store.interface';
import { InventoryController } from './inventory.controller';
import { InventoryService } from './inventory.service';
import { MemoryInventoryStore } from './memory-inventory.store';
import { RedisInventoryStore } from './redis-inventory.store';

@Module({
  controllers: [InventoryController],
  providers: [
    {
      provide: INVENTORY_STORE,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): InventoryStore =>
        config.redisUrl ? new RedisInventoryStore(config.redisUrl) : new MemoryInventoryStore(),
    },
    InventoryService,
  ],
  exports: [InventoryService],
})
export class InventoryModule {}
