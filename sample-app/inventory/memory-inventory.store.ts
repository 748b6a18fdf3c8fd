import type { InventoryStore } from './inventory-store.interface';

/** Stock counts in this process's memory: for running without Redis (one instance only). */
export class MemoryInventoryStore implements InventoryStore {
  private readonly stock = new Map<string, number>();

  async get(sku: string): Promise<number | null> {
    return this.stock.get(sku) ?? null;
  }

  async set(sku: string, quantity: number): Promise<void> {
    this.stock.set(sku, quantity);
  }

  async setIfAbsent(sku: string, quantity: number): Promise<void> {
    if (!this.stock.has(sku)) this.stock.set(sku, quantity);
  }
}
