/** An order as the API returns it. */
export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly createdAt: string;
  /** The fencing token of the order lock this order was placed under. */
  readonly fencingToken?: number;
}
