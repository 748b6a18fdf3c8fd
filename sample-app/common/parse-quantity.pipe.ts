import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/** Largest quantity the sample accepts, to keep counts far from floating-point trouble. */
const MAX_QUANTITY = 1_000_000;

/**
 * Validates a JSON `quantity`: an integer from `min` to 1 000 000 (a number, not a string).
 * Use as `@Body('quantity', new ParseQuantityPipe(1))`.
 */
@Injectable()
export class ParseQuantityPipe implements PipeTransform<unknown, number> {
  constructor(private readonly min = 0) {}

  transform(value: unknown): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new BadRequestException('`quantity` must be an integer.');
    }
    if (value < this.min || value > MAX_QUANTITY) {
      throw new BadRequestException(`\`quantity\` must be from ${this.min} to ${MAX_QUANTITY}.`);
    }
    return value;
  }
}
