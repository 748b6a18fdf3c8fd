import { Body, Controller, Headers, Post } from '@nestjs/common';
import { Idempotent } from '../../lib';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ParseQuantityPipe } from '../common/parse-quantity.pipe';
import type { Order } from './order.interface';
import { OrdersService } from './orders.service';

@Controller('orders')
export class CheckoutController {
  constructor(private readonly orders: OrdersService) {}

  /**
   * Places an order exactly once per `Idempotency-Key`, on any instance: a retry gets the
   * first response again (`Idempotent-Replayed: true`), a retry while the first still runs
   * gets 409 with `Retry-After`, the same key with another body 422, no key 400.
   * Body `{ userId, sku, quantity }`; 201 `{ orderId, userId, sku, quantity, createdAt, fencingToken }`.
   */
  @Post()
  @Idempotent()
  checkout(
    @Headers('idempotency-key') requestId: string,
    @Body('userId', ParseIdPipe) userId: string,
    @Body('sku', ParseIdPipe) sku: string,
    @Body('quantity', new ParseQuantityPipe(1)) quantity: number,
  ): Promise<Order> {
    return this.orders.checkout(requestId, { userId, sku, quantity });
  }
}
