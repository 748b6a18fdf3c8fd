import { Controller, Injectable, Param, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  DistributedLockModule,
  LockLostError,
  LockNotAcquiredError,
  LockService,
  LockStoreUnavailableError,
  WithLock,
} from '../../lib';
import { TestingLockService } from '../../lib/testing';

@Injectable()
class OrdersService {
  constructor(private readonly locks: LockService) {}

  @WithLock('order:<id>', { waitTimeout: 0 })
  async place(id: string): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return `placed ${id}`;
  }

  @WithLock('report', { onLocked: 'skip' })
  async report(): Promise<string> {
    return 'ran';
  }

  /** Waits under the lock until it is lost, and says how it learned. */
  @WithLock('watched:<id>')
  async watch(id: string): Promise<unknown> {
    const signal = this.locks.current(`watched:${id}`)?.signal;
    return new Promise((resolve) =>
      signal?.addEventListener('abort', () => resolve(signal.reason)),
    );
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post(':id')
  create(@Param('id') id: string) {
    return this.orders.place(id);
  }
}

describe('the way users test their applications', () => {
  it('works in a testing module that is compiled and never initialised (the nest g spec)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot()],
      controllers: [OrdersController],
      providers: [OrdersService],
    }).compile();
    try {
      const controller = moduleRef.get(OrdersController);
      const [first, second] = await Promise.allSettled([
        controller.create('1'),
        controller.create('1'),
      ]);
      expect(first).toEqual({ status: 'fulfilled', value: 'placed 1' });
      expect(second.status === 'rejected' && second.reason).toBeInstanceOf(LockNotAcquiredError);
    } finally {
      await moduleRef.close();
    }
  });

  it('drives a stub given with overrideProvider(LockService).useValue through its public API', async () => {
    const calls: unknown[] = [];
    const stub = {
      using: jest.fn(async (key: unknown, fn: () => unknown, options: unknown) => {
        calls.push({ key, options });
        return fn();
      }),
    };
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot()],
      providers: [OrdersService],
    })
      .overrideProvider(LockService)
      .useValue(stub)
      .compile();
    const app = await moduleRef.init();
    try {
      await expect(app.get(OrdersService).place('7')).resolves.toBe('placed 7');
      expect(calls).toEqual([
        { key: 'order:7', options: expect.objectContaining({ waitTimeout: 0 }) },
      ]);

      stub.using.mockRejectedValueOnce(new LockNotAcquiredError('report', 0));
      await expect(app.get(OrdersService).report()).resolves.toBeUndefined();
    } finally {
      await app.close();
    }
  });

  describe('TestingLockService (nestjs-distributed-lock/testing) in place of the real one', () => {
    async function start() {
      const moduleRef = await Test.createTestingModule({
        imports: [DistributedLockModule.forRoot()],
        controllers: [OrdersController],
        providers: [OrdersService],
      })
        .overrideProvider(LockService)
        .useClass(TestingLockService)
        .compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      return { app, locks: app.get(LockService) as TestingLockService };
    }

    it('simulates a lock held by another process: 409, or a skipped job', async () => {
      const { app, locks } = await start();
      try {
        locks.holdElsewhere('order:3');
        const busy = await request(app.getHttpServer()).post('/orders/3');
        expect(busy.status).toBe(409);
        expect(busy.body.code).toBe('LOCK_NOT_ACQUIRED');
        locks.holdElsewhere('report');
        await expect(app.get(OrdersService).report()).resolves.toBeUndefined();
        locks.free('order:3');
        expect((await request(app.getHttpServer()).post('/orders/3')).status).toBe(201);
      } finally {
        await app.close();
      }
    });

    it('simulates the store being down: 503, and nothing runs', async () => {
      const { app, locks } = await start();
      try {
        locks.setStoreDown();
        const res = await request(app.getHttpServer()).post('/orders/4');
        expect(res.status).toBe(503);
        await expect(locks.acquire('x')).rejects.toBeInstanceOf(LockStoreUnavailableError);
        locks.setStoreDown(false);
        expect((await request(app.getHttpServer()).post('/orders/4')).status).toBe(201);
      } finally {
        await app.close();
      }
    });

    it('simulates a lost lock: the holder is told through its signal', async () => {
      const { app, locks } = await start();
      try {
        const watching = app.get(OrdersService).watch('5');
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(locks.loseLock('watched:5')).toBe(1);
        await expect(watching).resolves.toBeInstanceOf(LockLostError);
        expect(locks.heldCount).toBe(0);
      } finally {
        await app.close();
      }
    });
  });
});
