/** Injection token of the `InventoryStore` in use (Redis when configured, else memory). */
export const INVENTORY_STORE = Symbol('INVENTORY_STORE');

/**
 * Where stock counts live. Deliberately plain reads and writes, no atomic decrement: the
 * read-modify-write in `InventoryService.reserve` is made safe by the distributed lock alone.
 */
export interface InventoryStore {
  /** The stock of `sku`, or `null` for an unknown SKU. */
  get(sku: string): Promise<number | null>;
  set(sku: string, quantity: number): Promise<void>;
  /** Sets the stock only if `sku` has none yet (startup seeding keeps existing counts). */
  setIfAbsent(sku: string, quantity: number): Promise<void>;
}
