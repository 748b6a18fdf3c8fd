import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Accepts a short identifier (letters, digits, `_`, `-`) from the path. It runs before the
 * handler, hence before `@WithLock` builds a lock key from it: odd input never reaches Redis.
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || !ID.test(value)) {
      throw new BadRequestException('Identifiers are 1 to 64 letters, digits, "_" or "-".');
    }
    return value;
  }
}
