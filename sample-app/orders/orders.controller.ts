import { Controller, Param, Post } from '@nestjs/common';
import { WithLock } from '../../lib';
import { ParseIdPipe } from '../common/parse-id.pipe';
import type { Order } from './order.interface';
import { OrdersService } from './orders.service';

@Controller('users/:userId/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /**
   * One order at a time per user: a second submit for the same user while the first is still
   * running answers 409 Conflict at once (`waitTimeout: 0`); other users are not blocked.
   * 201 `{ orderId, userId, createdAt }`; 503 when the lock store (Redis) is unreachable.
   */
  @Post()
  @WithLock('order:<userId>', { waitTimeout: 0 })
  create(@Param('userId', ParseIdPipe) userId: string): Promise<Order> {
    return this.orders.place(userId);
  }
}
