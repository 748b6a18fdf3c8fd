import { ConflictException, Injectable } from '@nestjs/common';
import type { Order } from './order.interface';

/**
 * Where orders are written: a stand-in for the database. A write carries the fencing token of
 * the claim it was made under, and a write with a lower token than one already seen for the
 * same request is refused, so a run that lost its claim (paused past its lease) cannot write
 * after the run that took over.
 */
@Injectable()
export class OrderBook {
  private readonly orders = new Map<string, { order: Order; fence: number }>();

  write(requestId: string, order: Order, fence: number | undefined): Order {
    const previous = this.orders.get(requestId);
    if (previous && fence !== undefined && fence < previous.fence) {
      throw new ConflictException('A newer attempt of this request has already written.');
    }
    this.orders.set(requestId, { order, fence: fence ?? 0 });
    return order;
  }

  get size(): number {
    return this.orders.size;
  }
}
