/** An order as the API returns it. */
export interface Order {
  readonly orderId: string;
  readonly userId: string;
  readonly createdAt: string;
}
