import {
  Inject,
  Injectable,
  NotFoundException,
  OnModuleInit,
  UnprocessableEntityException,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { WithLock } from '../../lib';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { INVENTORY_STORE, InventoryStore } from './inventory-store.interface';
import type { Stock } from './stock.interface';

@Injectable()
export class InventoryService implements OnModuleInit {
  constructor(
    @Inject(INVENTORY_STORE) private readonly store: InventoryStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const [sku, quantity] of Object.entries(this.config.inventorySeed)) {
      await this.store.setIfAbsent(sku, quantity);
    }
  }

  async stock(sku: string): Promise<Stock> {
    const quantity = await this.store.get(sku);
    if (quantity === null) throw new NotFoundException('Unknown SKU.');
    return { sku, quantity };
  }

  async setStock(sku: string, quantity: number): Promise<Stock> {
    await this.store.set(sku, quantity);
    return { sku, quantity };
  }

  /**
   * Takes `quantity` items of `sku` out of stock and resolves the stock left. A plain
   * read-modify-write with a pause in the middle: without the lock, concurrent reservations
   * (in this process or another instance) would read the same count and oversell.
   * Waits up to 5 s for the SKU's lock, then 409; 503 when Redis is unreachable.
   * Out of stock is 422 Unprocessable Entity (not 409, which means "locked, try again").
   */
  @WithLock('stock:<sku>', { waitTimeout: 5000 })
  async reserve(sku: string, quantity: number): Promise<number> {
    const available = await this.store.get(sku);
    if (available === null) throw new NotFoundException('Unknown SKU.');
    if (available < quantity) {
      throw new UnprocessableEntityException(`Not enough stock: ${available} left.`);
    }
    await sleep(this.config.inventoryPauseMs);
    const remaining = available - quantity;
    await this.store.set(sku, remaining);
    return remaining;
  }
}
