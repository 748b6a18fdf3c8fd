/** An order as the API returns it. */
export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly createdAt: string;
  /** For orders placed through `POST /orders`. */
  readonly sku?: string;
  readonly quantity?: number;
  /** The fencing token of the lock (or idempotency claim) this order was placed under. */
  readonly fencingToken?: number;
}
