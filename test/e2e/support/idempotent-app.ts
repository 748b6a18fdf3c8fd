import {
  BadRequestException,
  CanActivate,
  ExecutionContext,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  INestApplication,
  Injectable,
  InternalServerErrorException,
  Module,
  Param,
  ParseIntPipe,
  Post,
  Res,
  StreamableFile,
  ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { IsInt, IsString, Min } from 'class-validator';
import { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import {
  DistributedLockModule,
  Idempotent,
  IdempotencyOptions,
  IdempotencyService,
  WithLock,
} from '../../../lib';

export type Adapter = 'express' | 'fastify';

/** Stands in for authentication: `X-User: 7` makes the request's user `{ id: '7' }`. */
@Injectable()
class UserFromHeader implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    const id = req.headers['x-user'];
    if (id) req.user = { id };
    return true;
  }
}

export class OrderDto {
  @IsString() sku!: string;
  @IsInt() @Min(1) qty!: number;
}

/** Counts handler runs in Redis, so that runs on every instance are counted together. */
@Injectable()
export class RunCounter {
  constructor(readonly redis: Redis) {}
  async hit(name: string): Promise<number> {
    return this.redis.incr(`runs:${name}`);
  }
  async count(name: string): Promise<number> {
    return Number((await this.redis.get(`runs:${name}`)) ?? 0);
  }
}

export interface IdempotentAppOptions {
  /** The Redis of the lock store and of the run counter. */
  redisUrl: string;
  /** `'memory'`: locks and records in the process; runs are still counted in Redis. */
  store?: 'redis' | 'memory';
  adapter: Adapter;
  /** How long each handler works, in ms. */
  workMs?: number;
  idempotency?: IdempotencyOptions;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function ordersController(workMs: number) {
  @Controller('orders')
  class OrdersController {
    constructor(
      readonly runs: RunCounter,
      readonly idempotency: IdempotencyService,
    ) {}

    @Post()
    @Idempotent()
    @Header('Location', '/orders/latest')
    async create(@Body() body: { sku?: string; qty?: number }) {
      const run = await this.runs.hit('create');
      await sleep(workMs);
      return { order: run, sku: body.sku, fence: this.idempotency.current()?.fencingToken };
    }

    @Idempotent({ onInFlight: 'wait' })
    @Post('waiting')
    async waiting(@Body() body: unknown) {
      const run = await this.runs.hit('waiting');
      await sleep(workMs);
      return { order: run, body };
    }

    @Post('validated')
    @Idempotent()
    async validated(@Body(new ValidationPipe()) body: OrderDto) {
      return { order: await this.runs.hit('validated'), sku: body.sku };
    }

    @Post('by-id/:n')
    @Idempotent()
    async byId(@Param('n', ParseIntPipe) n: number) {
      return { order: await this.runs.hit('by-id'), n };
    }

    @Post('bad')
    @Idempotent()
    async bad() {
      await this.runs.hit('bad');
      throw new BadRequestException('sku out of range');
    }

    @Post('broken')
    @Idempotent()
    async broken() {
      const run = await this.runs.hit('broken');
      if (run === 1) throw new InternalServerErrorException('database down');
      return { order: run };
    }

    @Post('crash')
    @Idempotent()
    async crash() {
      const run = await this.runs.hit('crash');
      if (run === 1) throw new Error('unexpected');
      return { order: run };
    }

    @Post('observable')
    @HttpCode(202)
    @Idempotent()
    observable() {
      return new Observable<{ order: number }>((subscriber) => {
        void this.runs.hit('observable').then((order) => {
          setTimeout(() => {
            subscriber.next({ order });
            subscriber.complete();
          }, workMs);
        });
      });
    }

    @Post('text')
    @Idempotent()
    async text(@Res({ passthrough: true }) res: { status(code: number): unknown }) {
      res.status(202);
      return `accepted ${await this.runs.hit('text')}`;
    }

    @WithLock('sku:<_body.sku>', { waitTimeout: 0 })
    @Idempotent()
    @Post('locked')
    async locked(@Body() _body: { sku: string }) {
      const run = await this.runs.hit('locked');
      await sleep(workMs);
      return { order: run };
    }

    @Idempotent()
    @WithLock('sku:<_body.sku>', { waitTimeout: 0 })
    @Post('locked-inside')
    async lockedInside(@Body() _body: { sku: string }) {
      return { order: await this.runs.hit('locked-inside') };
    }

    @Post('file')
    @Idempotent()
    async file() {
      await this.runs.hit('file');
      return new StreamableFile(Buffer.from('file body'));
    }

    @Get('plain')
    plain() {
      return { ok: true };
    }
  }
  return OrdersController;
}

export interface IdempotentApp {
  readonly app: INestApplication;
  readonly url: string;
  close(): Promise<void>;
}

/** One instance of the test application, listening on a free loopback port. */
export async function startIdempotentApp(options: IdempotentAppOptions): Promise<IdempotentApp> {
  const redis = new Redis(options.redisUrl ?? 'redis://127.0.0.1:1', {
    lazyConnect: !options.redisUrl,
  });
  @Module({
    imports: [
      DistributedLockModule.forRoot({
        redis: options.store === 'memory' ? undefined : options.redisUrl,
        idempotency: options.idempotency,
        waitTimeout: 5000,
      }),
    ],
    controllers: [ordersController(options.workMs ?? 0)],
    providers: [
      { provide: RunCounter, useValue: new RunCounter(redis) },
      { provide: APP_GUARD, useClass: UserFromHeader },
    ],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app =
    options.adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    close: async () => {
      await app.close();
      redis.disconnect();
    },
  };
}
