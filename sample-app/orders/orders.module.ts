import { Module } from '@nestjs/common';
import { CheckoutController } from './checkout.controller';
import { OrderBook } from './order-book';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  controllers: [OrdersController, CheckoutController],
  providers: [OrdersService, OrderBook],
  exports: [OrdersService],
})
export class OrdersModule {}
