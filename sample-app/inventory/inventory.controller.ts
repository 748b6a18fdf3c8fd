import { Body, Controller, Get, Param, Post, Put } from '@nestjs/common';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ParseQuantityPipe } from '../common/parse-quantity.pipe';
import { InventoryService } from './inventory.service';
import type { Stock } from './stock.interface';

@Controller('inventory/:sku')
export class InventoryController {
  constructor(private readonly inventory: InventoryService) {}

  /** 200 `{ sku, quantity }`; 404 for an unknown SKU. */
  @Get()
  stock(@Param('sku', ParseIdPipe) sku: string): Promise<Stock> {
    return this.inventory.stock(sku);
  }

  /** Sets the stock: `{ quantity }` (integer >= 0). 200 `{ sku, quantity }`. */
  @Put()
  setStock(
    @Param('sku', ParseIdPipe) sku: string,
    @Body('quantity', new ParseQuantityPipe(0)) quantity: number,
  ): Promise<Stock> {
    return this.inventory.setStock(sku, quantity);
  }

  /**
   * Reserves `{ quantity }` (integer >= 1). 201 `{ sku, reserved, remaining }`; 422 when not
   * enough is left; 404 for an unknown SKU; 409 when the SKU stayed locked for 5 s.
   */
  @Post('reserve')
  async reserve(
    @Param('sku', ParseIdPipe) sku: string,
    @Body('quantity', new ParseQuantityPipe(1)) quantity: number,
  ): Promise<{ sku: string; reserved: number; remaining: number }> {
    const remaining = await this.inventory.reserve(sku, quantity);
    return { sku, reserved: quantity, remaining };
  }
}
