import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockService } from '../../lib';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import type { Order } from './order.interface';

/** Places orders. Slow on purpose (`orderWorkMs`), like a payment call would be. */
@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);
  private placed = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly locks: LockService,
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
}
