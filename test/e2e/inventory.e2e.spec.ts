import type { Redis } from 'ioredis';
import request from 'supertest';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { countStatuses, redisClient, SampleApp, startSampleApp } from './support/sample-app';

describe.each([
  { store: 'Redis', useRedis: true },
  { store: 'the in-memory store', useRedis: false },
])('inventory with $store', ({ useRedis }) => {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  let sample: SampleApp;

  beforeAll(async () => {
    if (useRedis) {
      server = await startRedisServer();
      redis = redisClient(server.url);
    }
    sample = await startSampleApp({ redisUrl: server?.url, inventoryPauseMs: 10 });
  });

  afterAll(async () => {
    await sample?.close();
    redis?.disconnect();
    await server?.stop();
  });

  it('seeds stock at startup', async () => {
    const res = await request(sample.url).get('/inventory/sku-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sku: 'sku-1', quantity: 100 });
    if (redis) expect(await redis.get('stock:sku-1')).toBe('100');
  });

  it('never oversells: 50 concurrent reservations of 1 on a stock of 30', async () => {
    await request(sample.url).put('/inventory/race').send({ quantity: 30 }).expect(200);

    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        request(sample.url).post('/inventory/race/reserve').send({ quantity: 1 }),
      ),
    );

    expect(countStatuses(responses)).toEqual({ 201: 30, 422: 20 });
    // Each successful reservation saw a different count: they ran one after another.
    const remaining = responses.filter((r) => r.status === 201).map((r) => r.body.remaining);
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const stock = await request(sample.url).get('/inventory/race');
    expect(stock.body).toEqual({ sku: 'race', quantity: 0 });
    if (redis) expect(await redis.get('stock:race')).toBe('0');
  });

  it('validates input and reports unknown SKUs', async () => {
    const reserve = (sku: string, body: object) =>
      request(sample.url).post(`/inventory/${sku}/reserve`).send(body);

    expect((await reserve('sku-2', { quantity: 0 })).status).toBe(400);
    expect((await reserve('sku-2', { quantity: '1' })).status).toBe(400);
    expect((await reserve('sku-2', {})).status).toBe(400);
    expect((await reserve('bad%20sku', { quantity: 1 })).status).toBe(400);
    expect((await reserve('nope', { quantity: 1 })).status).toBe(404);
    expect((await request(sample.url).get('/inventory/nope')).status).toBe(404);
    expect((await request(sample.url).put('/inventory/sku-2').send({ quantity: -1 })).status).toBe(
      400,
    );
    expect((await reserve('sku-2', { quantity: 26 })).status).toBe(422);
    const ok = await reserve('sku-2', { quantity: 5 });
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ sku: 'sku-2', reserved: 5, remaining: 20 });
  });
});
