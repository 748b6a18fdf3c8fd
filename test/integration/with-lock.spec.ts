import { Injectable, INestApplicationContext, Module, SetMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  DistributedLockModule,
  DistributedLockModuleOptions,
  DistributedLockOptionsFactory,
  LockKeyError,
  LockKeyTemplateError,
  LockNotAcquiredError,
  LockService,
  LockStoreUnavailableError,
  WithLock,
} from '../../lib';
import { startRedisServer } from '../support/redis-server';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

@Injectable()
class OrdersService {
  runs = 0;
  active = 0;
  maxActive = 0;

  @WithLock('order:<userId>', { waitTimeout: 0 })
  async place(userId: string, work = 100): Promise<string> {
    this.runs++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await sleep(work);
    this.active--;
    return `placed:${userId}`;
  }

  @WithLock('thing:<dto.user.id>')
  async byPath(dto: { user?: { id?: unknown } }): Promise<string> {
    void dto;
    this.runs++;
    return 'ok';
  }

  @WithLock(['account:<from>', 'account:<to>'], { waitTimeout: 0 })
  async transfer(from: string, to: string, hold = 0): Promise<string> {
    await sleep(hold);
    return `${from}->${to}`;
  }

  @WithLock((sku: string) => `stock:${sku.toUpperCase()}`, { waitTimeout: 0 })
  async reserve(sku: string, hold = 0): Promise<string> {
    await sleep(hold);
    return sku;
  }

  @WithLock('job:report', { onLocked: 'skip' })
  async report(hold = 0): Promise<string> {
    this.runs++;
    await sleep(hold);
    return 'report';
  }

  @WithLock('flaky:<0>', { onUnavailable: 'run' })
  async bestEffort(id: string): Promise<string> {
    return `ran:${id}`;
  }
}

@Injectable()
class FencedWriter {
  constructor(private readonly locks: LockService) {}

  @WithLock('stock:<sku>')
  async write(sku: string): Promise<number | undefined> {
    await sleep(1);
    return this.locks.current(`stock:${sku}`)?.fencingToken;
  }
}

@Module({})
class EmptyModule {}

async function createApp(redis?: string): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedLockModule.forRoot({ redis })],
    providers: [OrdersService],
  }).compile();
  return moduleRef.init();
}

const fixture = useRedisServer();

describe.each([
  ['redis store', () => fixture.server.url],
  ['memory store', () => undefined],
])('@WithLock on a provider method (%s)', (_name, redisUrl) => {
  let app: INestApplicationContext;
  let orders: OrdersService;

  beforeEach(async () => {
    await fixture.redis.flushall();
    app = await createApp(redisUrl());
    orders = app.get(OrdersService);
  });

  afterEach(async () => {
    expect(app.get(LockService).heldCount).toBe(0);
    await app.close();
  });

  it('runs the method holding the lock and releases it afterwards', async () => {
    await expect(orders.place('u1', 0)).resolves.toBe('placed:u1');
    await expect(app.get(LockService).isLocked('order:u1')).resolves.toBe(false);
  });

  it('rejects a second call on the same key while the first runs, and runs other keys', async () => {
    const results = await Promise.allSettled([
      orders.place('u1'),
      orders.place('u1'),
      orders.place('u2'),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'placed:u1' });
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LockNotAcquiredError);
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'placed:u2' });
    expect(orders.runs).toBe(2);
  });

  it('never runs two calls on one key at once', async () => {
    await Promise.allSettled(Array.from({ length: 10 }, () => orders.place('same', 20)));
    expect(orders.maxActive).toBe(1);
  });

  it('fails the call with a 400 before locking when a key value is missing', async () => {
    const error = await orders.place(undefined as unknown as string).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockKeyError);
    expect((error as LockKeyError).getStatus()).toBe(400);
    expect((error as Error).message).toContain('OrdersService.place');
    expect((error as Error).message).toContain('<userId>');
    await expect(orders.byPath({})).rejects.toBeInstanceOf(LockKeyError);
    await expect(orders.byPath({ user: { id: '' } })).rejects.toBeInstanceOf(LockKeyError);
    await expect(orders.byPath({ user: { id: { nested: 1 } } })).rejects.toBeInstanceOf(
      LockKeyError,
    );
    expect(orders.runs).toBe(0);
    await expect(app.get(LockService).isLocked('order:undefined')).resolves.toBe(false);
    expect(await fixture.redis.keys('*undefined*')).toEqual([]);
  });

  it('locks every key of an array template, all or none', async () => {
    const locks = app.get(LockService);
    const first = orders.transfer('a', 'b', 1000);
    await waitUntil(
      async () => (await locks.isLocked('account:a')) && locks.isLocked('account:b'),
      'the lock is held',
    );
    await expect(orders.transfer('b', 'c')).rejects.toBeInstanceOf(LockNotAcquiredError);
    await expect(app.get(LockService).isLocked('account:c')).resolves.toBe(false);
    await expect(first).resolves.toBe('a->b');
    await expect(orders.transfer('b', 'c')).resolves.toBe('b->c');
  });

  it('locks the key a function template computes', async () => {
    const first = orders.reserve('sku-1', 1000);
    await waitUntil(() => app.get(LockService).isLocked('stock:SKU-1'), 'the lock is held');
    await expect(app.get(LockService).isLocked('stock:SKU-1')).resolves.toBe(true);
    await expect(orders.reserve('sku-1')).rejects.toBeInstanceOf(LockNotAcquiredError);
    await first;
  });

  it('a decorated method reads its own fencing token through LockService.current', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot({ redis: redisUrl() })],
      providers: [FencedWriter],
    }).compile();
    const own = await moduleRef.init();
    try {
      const writer = own.get(FencedWriter);
      const first = await writer.write('s1');
      const second = await writer.write('s1');
      expect(typeof first).toBe('number');
      expect(second).toBeGreaterThan(first as number);
    } finally {
      await own.close();
    }
  });

  it("onLocked 'skip' resolves undefined without running the method", async () => {
    const first = orders.report(1000);
    await waitUntil(() => app.get(LockService).isLocked('job:report'), 'the lock is held');
    await expect(orders.report()).resolves.toBeUndefined();
    await expect(first).resolves.toBe('report');
    expect(orders.runs).toBe(1);
  });
});

describe('@WithLock definition errors', () => {
  it('names class, method and placeholder when a placeholder names no parameter', () => {
    expect(() => {
      class Broken {
        @WithLock('order:<userid>')
        async create(userId: string): Promise<string> {
          return userId;
        }
      }
      return Broken;
    }).toThrow(LockKeyTemplateError);
    expect(() => {
      class Broken {
        @WithLock('order:<userid>')
        async create(userId: string): Promise<string> {
          return userId;
        }
      }
      return Broken;
    }).toThrow(/Broken\.create.*<userid>/);
  });

  it('rejects bad options when the class is defined', () => {
    expect(() => WithLock('k', { ttl: 0 })).toThrow(/`ttl`/);
    expect(() => WithLock('k', { onLocked: 'wait' as 'skip' })).toThrow(/`onLocked`/);
  });

  it('keeps metadata of decorators applied before and after it', () => {
    class Decorated {
      @SetMetadata('outer', 1)
      @WithLock('k:<id>')
      @SetMetadata('inner', 2)
      async run(id: string): Promise<string> {
        return id;
      }
    }
    const method = Decorated.prototype.run;
    expect(Reflect.getMetadata('outer', method)).toBe(1);
    expect(Reflect.getMetadata('inner', method)).toBe(2);
    expect(method.name).toBe('run');
  });
});

describe('@WithLock across applications', () => {
  it('two applications on different Redis servers never share locks', async () => {
    const second = await startRedisServer();
    const appA = await createApp(fixture.server.url);
    const appB = await createApp(second.url);
    try {
      const inA = appA.get(OrdersService).place('shared', 1000);
      await waitUntil(() => appA.get(LockService).isLocked('order:shared'), 'the lock is held');
      await expect(appB.get(OrdersService).place('shared', 0)).resolves.toBe('placed:shared');
      await expect(appA.get(OrdersService).place('shared', 0)).rejects.toBeInstanceOf(
        LockNotAcquiredError,
      );
      await inA;
    } finally {
      await appA.close();
      await appB.close();
      await second.stop();
    }
  });

  it('an instance no application created fails with a clear message when none runs', async () => {
    const loose = new OrdersService();
    await expect(loose.place('u1')).rejects.toThrow(/no LockService is bound/);
    expect(loose.runs).toBe(0);
  });

  it('an unbound instance fails with a clear message when several applications run', async () => {
    const appA = await createApp();
    const appB = await createApp();
    try {
      await expect(new OrdersService().place('u1')).rejects.toThrow(/several applications/);
    } finally {
      await appA.close();
      await appB.close();
    }
  });

  it('an unbound instance uses the only running application', async () => {
    const app = await Test.createTestingModule({
      imports: [EmptyModule, DistributedLockModule.forRoot({})],
    })
      .compile()
      .then((m) => m.init());
    try {
      await expect(new OrdersService().place('u9', 0)).resolves.toBe('placed:u9');
    } finally {
      await app.close();
    }
  });

  it('forRootAsync takes its options from a class, and never closes a client it was given', async () => {
    const client = new Redis(fixture.server.url);
    @Injectable()
    class LockOptionsFactory implements DistributedLockOptionsFactory {
      createDistributedLockOptions(): DistributedLockModuleOptions {
        return { redis: client, keyPrefix: 'cls:' };
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRootAsync({ useClass: LockOptionsFactory })],
      providers: [OrdersService],
    }).compile();
    const app = await moduleRef.init();
    try {
      const running = app.get(OrdersService).place('u6', 1000);
      await waitUntil(
        async () => (await fixture.redis.exists('cls:{order:u6}')) === 1,
        'the lock under cls:',
      );
      await running;
    } finally {
      await app.close();
    }
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('forRootAsync takes its options from a factory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        DistributedLockModule.forRootAsync({
          useFactory: async () => ({ redis: fixture.server.url, keyPrefix: 'async:' }),
        }),
      ],
      providers: [OrdersService],
    }).compile();
    const app = await moduleRef.init();
    try {
      const running = app.get(OrdersService).place('u5', 1000);
      await waitUntil(
        async () => (await fixture.redis.exists('async:{order:u5}')) === 1,
        'the lock under async:',
      );
      await running;
    } finally {
      await app.close();
    }
  });
});

describe('@WithLock when Redis is down', () => {
  it('fails closed with a 503 and does not run the method; onUnavailable run opts out', async () => {
    const own = await startRedisServer();
    const app = await createApp(own.url);
    const orders = app.get(OrdersService);
    try {
      await expect(orders.place('u1', 0)).resolves.toBe('placed:u1');
      await own.stop();
      await sleep(100);
      const error = await orders.place('u1', 0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockStoreUnavailableError);
      expect(orders.runs).toBe(1);
      await expect(orders.report()).rejects.toBeInstanceOf(LockStoreUnavailableError);
      await expect(orders.bestEffort('x')).resolves.toBe('ran:x');
    } finally {
      await app.close();
    }
  });
});
