import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdempotencyService, LockService } from '../../lib';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import type { Order } from './order.interface';
import { OrderBook } from './order-book';

/** Places orders. Slow on purpose (`orderWorkMs`), like a payment call would be. */
@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);
  private placed = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: LockService,
    private readonly idempotency: IdempotencyService,
    private readonly book: OrderBook,
  ) {}

  /** How many orders this instance has placed (the e2e tests read it). */
  get placedCount(): number {
    return this.placed;
  }

  async place(userId: string): Promise<Order> {
    this.placed++;
    await sleep(this.config.orderWorkMs);
    // The controller's @WithLock holds order:<userId>; its fencing token orders the writes.
    const fencingToken = this.locks.current(`order:${userId}`)?.fencingToken;
    const order: Order = {
      orderId: randomUUID(),
      userId,
      createdAt: new Date().toISOString(),
      fencingToken,
    };
    this.logger.log(`Order ${order.orderId} placed for user ${userId}`);
    return order;
  }

  /** One order per request id; called under the request's idempotency claim. */
  async checkout(
    requestId: string,
    item: { userId: string; sku: string; quantity: number },
  ): Promise<Order> {
    this.placed++;
    await sleep(this.config.orderWorkMs);
    // The claim's fencing token makes the write conditional: a run that lost its claim is refused.
    const fencingToken = this.idempotency.current()?.fencingToken;
    const order: Order = {
      orderId: randomUUID(),
      ...item,
      createdAt: new Date().toISOString(),
      fencingToken,
    };
    this.book.write(requestId, order, fencingToken);
    this.logger.log(`Order ${order.orderId} placed for user ${item.userId}`);
    return order;
  }
}
