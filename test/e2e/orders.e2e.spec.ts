import { Body, Controller, Post } from '@nestjs/common';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { LockService, WithLock } from '../../lib';
import { OrdersService } from '../../sample-app/orders/orders.service';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { countStatuses, redisClient, SampleApp, startSampleApp } from './support/sample-app';

/** Handler runs of the test-only controller below. */
let thingRuns = 0;

/** Test-only: a lock key taken from the body, which the client may leave out. */
@Controller('things')
class ThingsController {
  @Post()
  @WithLock('thing:<dto.id>')
  handle(@Body() dto: { id?: unknown }): { id: unknown } {
    thingRuns++;
    return { id: dto.id };
  }
}

describe.each([
  { store: 'Redis', useRedis: true },
  { store: 'the in-memory store', useRedis: false },
])('POST /users/:userId/orders with $store', ({ useRedis }) => {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  let sample: SampleApp;

  beforeAll(async () => {
    if (useRedis) {
      server = await startRedisServer();
      redis = redisClient(server.url);
    }
    // Slow enough that twenty requests sent together all arrive while the first one works.
    sample = await startSampleApp(
      { redisUrl: server?.url, orderWorkMs: 1000 },
      { controllers: [ThingsController] },
    );
  });

  afterAll(async () => {
    await sample?.close();
    redis?.disconnect();
    await server?.stop();
  });

  const submit = (userId: string) => request(sample.url).post(`/users/${userId}/orders`);

  it('lets one of twenty concurrent submits of one user through and answers 409 to the rest', async () => {
    const orders = sample.app.get(OrdersService);
    const placedBefore = orders.placedCount;

    const responses = await Promise.all(Array.from({ length: 20 }, () => submit('42')));

    expect(countStatuses(responses)).toEqual({ 201: 1, 409: 19 });
    const created = responses.find((res) => res.status === 201)!;
    expect(created.body).toEqual({
      orderId: expect.any(String),
      userId: '42',
      createdAt: expect.any(String),
      fencingToken: expect.any(Number),
    });
    for (const res of responses.filter((r) => r.status === 409)) {
      expect(res.body).toMatchObject({ statusCode: 409 });
      expect(JSON.stringify(res.body)).not.toContain('order:42');
    }
    expect(orders.placedCount).toBe(placedBefore + 1);
    // Released once the order was placed.
    expect(await sample.app.get(LockService).isLocked('order:42')).toBe(false);
  });

  it('does not block other users', async () => {
    const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);

    const responses = await Promise.all(users.map((userId) => submit(userId)));

    expect(countStatuses(responses)).toEqual({ 201: 10 });
    expect(responses.map((res) => res.body.userId).sort()).toEqual([...users].sort());
  });

  it('answers 400 without running the handler or locking anything when the key value is missing', async () => {
    const before = thingRuns;

    for (const body of [{}, { id: null }, { id: '' }, { id: { nested: 1 } }]) {
      const res = await request(sample.url).post('/things').send(body);
      expect(res.status).toBe(400);
    }

    expect(thingRuns).toBe(before);
    if (redis) {
      const keys = await redis.keys('*');
      expect(keys.filter((key) => key.includes('undefined') || key.includes('null'))).toEqual([]);
      expect(keys.filter((key) => key.includes('thing:'))).toEqual([]);
    }

    // The same route with the value present does lock (so the check above looks in the right place).
    const ok = await request(sample.url).post('/things').send({ id: 'a' });
    expect(ok.status).toBe(201);
    expect(thingRuns).toBe(before + 1);
    if (redis) expect(await redis.keys('*thing:*')).toEqual([]);
  });
});
