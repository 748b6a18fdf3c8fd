import request from 'supertest';
import { startRedisServer, RedisServer } from '../support/redis-server';
import { SampleApp, startSampleApp } from './support/sample-app';
import { OrdersService } from '../../sample-app/orders/orders.service';

// The README's curl sequence for POST /orders, on the sample app.
describe.each([
  { store: 'Redis', useRedis: true },
  { store: 'the in-memory store', useRedis: false },
])('POST /orders with an Idempotency-Key, on $store', ({ useRedis }) => {
  let server: RedisServer | undefined;
  let sample: SampleApp;
  const order = { userId: '42', sku: 'sku-1', quantity: 1 };
  const submit = (body: object = order, key = 'order-abc') =>
    request(sample.url).post('/orders').set('Idempotency-Key', key).send(body);

  beforeAll(async () => {
    if (useRedis) server = await startRedisServer();
    sample = await startSampleApp({ redisUrl: server?.url, orderWorkMs: 500 });
  });
  afterAll(async () => {
    await sample?.close();
    await server?.stop();
  });

  it('places one order: 409 while in flight, then replays; 422 on a changed body; 400 without a key', async () => {
    const first = submit().then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const early = await submit();
    expect(early.status).toBe(409);
    expect(early.headers['retry-after']).toBe('1');

    const created = await first;
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...order, fencingToken: expect.any(Number) });

    const replay = await submit();
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(created.body);

    expect((await submit({ ...order, quantity: 2 })).status).toBe(422);
    expect((await request(sample.url).post('/orders').send(order)).status).toBe(400);
    expect(sample.app.get(OrdersService).placedCount).toBe(1);
  });

  it('stores nothing for a body the pipes refuse', async () => {
    expect((await submit({ userId: '42', sku: 'sku-1', quantity: 0 }, 'bad-qty')).status).toBe(400);
    const fixed = await submit({ userId: '42', sku: 'sku-1', quantity: 3 }, 'bad-qty');
    expect(fixed.status).toBe(201);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
  });
});
