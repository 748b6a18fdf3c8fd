import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { InventoryStore } from './inventory-store.interface';

/** Stock counts in Redis, as the string `stock:<sku>`, through the store's own ioredis client. */
export class RedisInventoryStore implements InventoryStore, OnApplicationShutdown {
  private readonly logger = new Logger(RedisInventoryStore.name);
  private readonly client: Redis;

  constructor(url: string) {
    // One retry at most: while Redis is down a request fails fast instead of hanging.
    this.client = new Redis(url, { maxRetriesPerRequest: 1 });
    let reported = false;
    this.client.on('error', (err: Error) => {
      if (reported) return;
      reported = true;
      this.logger.error(`Inventory Redis connection error: ${err.message}`);
    });
    this.client.on('ready', () => {
      reported = false;
    });
  }

  async get(sku: string): Promise<number | null> {
    const value = await this.client.get(key(sku));
    return value === null ? null : Number(value);
  }

  async set(sku: string, quantity: number): Promise<void> {
    await this.client.set(key(sku), quantity);
  }

  async setIfAbsent(sku: string, quantity: number): Promise<void> {
    await this.client.set(key(sku), quantity, 'NX');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    else this.client.disconnect();
  }
}

function key(sku: string): string {
  return `stock:${sku}`;
}
