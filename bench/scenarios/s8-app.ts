// A child process of S8: one Nest (Express) app with the same order handler three times: plain,
// under @Idempotent(), and under a hand-written idempotency interceptor on bare ioredis.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  Body,
  CallHandler,
  ConflictException,
  Controller,
  ExecutionContext,
  Injectable,
  Module,
  NestInterceptor,
  OnModuleDestroy,
  Post,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { catchError, from, mergeMap, Observable, of, throwError } from 'rxjs';
import { DistributedLockModule, Idempotent } from '../../lib';
import { installCommandCounter, sentCommands } from '../command-counter';

/** The hand-written version's record lease and retention: the library's defaults. */
const LEASE_MS = 30_000;
const RETENTION_MS = 24 * 60 * 60 * 1000;

interface OrderRequest {
  sku: string;
  qty: number;
}

/** The handler body all three routes share. */
function placeOrder(body: OrderRequest): Record<string, unknown> {
  return { id: 'ord_1', sku: body.sku, qty: body.qty, status: 'accepted' };
}

/** The connection of the hand-written version; set at boot, before any request. */
let handRedis: Redis;

/**
 * The honest minimal idempotency by hand, two round trips per fresh key: claim with
 * `SET idem:<key> <token> NX PX lease`, run, then overwrite the claim with the response
 * (`SET ... PX retention`). A taken key is replayed when it holds a response, else refused
 * (409); a failed handler deletes its claim. No fingerprint, no fencing, no lease renewal.
 */
@Injectable()
class HandWrittenIdempotency implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const header = req.headers['idempotency-key'];
    if (typeof header !== 'string' || header === '') {
      return throwError(() => new ConflictException('Idempotency-Key required'));
    }
    const key = `idem:${header}`;
    const token = randomUUID();
    return from(handRedis.set(key, token, 'PX', LEASE_MS, 'NX')).pipe(
      mergeMap((claimed) => (claimed ? this.run(key, next, context) : this.replay(key))),
    );
  }

  private run(key: string, next: CallHandler, context: ExecutionContext): Observable<unknown> {
    const res = context.switchToHttp().getResponse<{ statusCode: number }>();
    return next.handle().pipe(
      mergeMap(async (value) => {
        const record = JSON.stringify({ status: res.statusCode, body: value });
        await handRedis.set(key, record, 'PX', RETENTION_MS);
        return value;
      }),
      catchError((err: unknown) =>
        from(handRedis.del(key)).pipe(mergeMap(() => throwError(() => err))),
      ),
    );
  }

  private replay(key: string): Observable<unknown> {
    return from(handRedis.get(key)).pipe(
      mergeMap((stored) => {
        const record = stored?.startsWith('{') ? (JSON.parse(stored) as { body: unknown }) : null;
        if (!record) return throwError(() => new ConflictException('in flight'));
        return of(record.body);
      }),
    );
  }
}

@Controller('orders')
class OrdersController {
  @Post('plain')
  plain(@Body() body: OrderRequest): Record<string, unknown> {
    return placeOrder(body);
  }

  @Post('idempotent')
  @Idempotent()
  idempotent(@Body() body: OrderRequest): Record<string, unknown> {
    return placeOrder(body);
  }

  @Post('by-hand')
  @UseInterceptors(HandWrittenIdempotency)
  byHand(@Body() body: OrderRequest): Record<string, unknown> {
    return placeOrder(body);
  }
}

async function main(): Promise<void> {
  const url = process.argv[2];
  installCommandCounter();
  handRedis = new Redis(url);

  @Module({
    imports: [DistributedLockModule.forRoot({ redis: url })],
    controllers: [OrdersController],
  })
  class BenchAppModule implements OnModuleDestroy {
    onModuleDestroy(): void {
      handRedis.disconnect();
    }
  }

  const app = await NestFactory.create(BenchAppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'exit') void app.close().finally(() => process.exit(0));
    // The bench asks before and after each run: ioredis commands sent (round trips) and CPU.
    if (message.type === 'stats') {
      const { user, system } = process.cpuUsage();
      process.send?.({ type: 'stats', sent: sentCommands(), cpuUs: user + system });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'listening', port: address.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
