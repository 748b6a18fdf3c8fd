import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Logger,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { throwError } from 'rxjs';
import { LOGGER_CONTEXT } from '../distributed-lock.constants';
import { LockKeyError } from './lock-key.error';
import { LockNotAcquiredError } from './lock-not-acquired.error';
import { LockStoreUnavailableError } from './lock-store-unavailable.error';
import type { LockErrorBody } from './lock-error-code';

/** What a microservice or WebSocket client receives for a lock error. */
export interface LockErrorPayload extends LockErrorBody {
  readonly status: 'error';
}

interface WsClientLike {
  /** socket.io sockets have a handshake; plain ws sockets do not. */
  handshake?: unknown;
  emit?(event: string, data: unknown): unknown;
  send?(data: string): unknown;
}

/**
 * Sends the lock errors in every context Nest runs handlers in, with no code of the user's:
 * HTTP gets the status and `{ statusCode, message, error, code }` (and `Retry-After` on a
 * 409); a microservice client gets `{ status: 'error', message, code, statusCode }`; a
 * WebSocket client an `exception` message with the same payload; GraphQL the error itself,
 * whose object response `@nestjs/apollo` maps into `extensions`. A bad key is logged with the
 * detail the client never sees (the method and the part of the key).
 */
@Catch(LockNotAcquiredError, LockKeyError, LockStoreUnavailableError)
export class LockExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(err: LockNotAcquiredError | LockKeyError | LockStoreUnavailableError, host: ArgumentsHost) {
    if (err instanceof LockKeyError) this.logger.warn(err.message);
    const body = err.getResponse() as LockErrorBody;
    const type: string = host.getType();
    if (type === 'http') return this.reply(err, body, host);
    const payload: LockErrorPayload = { status: 'error', ...body };
    if (type === 'rpc') return throwError(() => payload);
    if (type === 'ws') {
      const client = host.switchToWs().getClient<WsClientLike>();
      // socket.io sockets emit events; plain ws sockets (EventEmitters too) take text frames.
      if (client.handshake !== undefined && typeof client.emit === 'function') {
        client.emit('exception', payload);
      } else client.send?.(JSON.stringify({ event: 'exception', data: payload }));
      return undefined;
    }
    // GraphQL (and any other context) gets an error whose message is the client-safe one; the
    // original, with its server-side detail, is its cause.
    return new HttpException(body, err.getStatus(), { cause: err });
  }

  private reply(err: HttpException, body: LockErrorBody, host: ArgumentsHost): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter) throw err;
    const response: unknown = host.switchToHttp().getResponse();
    if (err instanceof LockNotAcquiredError) {
      adapter.setHeader(response, 'Retry-After', String(err.retryAfterSeconds));
    }
    adapter.reply(response, body, err.getStatus());
  }
}
