import { Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../distributed-lock.constants';
import type { RedisConnectionLike } from '../interfaces/distributed-lock-module-options.interface';

/**
 * One log line per outage of `connection` rather than one per reconnect attempt, and no
 * "Unhandled error event" from ioredis.
 */
export function logConnectionErrors(
  connection: RedisConnectionLike,
  message: (detail: string) => string,
  level: 'error' | 'warn' = 'error',
): void {
  const logger = new Logger(LOGGER_CONTEXT);
  let reported = false;
  connection.on('error', (err: Error) => {
    if (reported) return;
    reported = true;
    logger[level](message(err.message));
  });
  connection.on('ready', () => {
    reported = false;
  });
}
