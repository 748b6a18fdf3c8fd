import request from 'supertest';
import { OrdersService } from '../../sample-app/orders/orders.service';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { SampleApp, sleep, startSampleApp } from './support/sample-app';

describe('POST /users/:userId/orders while Redis is down', () => {
  let server: RedisServer;
  let sample: SampleApp;

  beforeAll(async () => {
    server = await startRedisServer();
    sample = await startSampleApp({ redisUrl: server.url, orderWorkMs: 20 });
  });

  afterAll(async () => {
    await sample?.close();
    await server?.stop();
  });

  const submit = (userId: string) => request(sample.url).post(`/users/${userId}/orders`);

  it('fails closed with 503 without running the handler, then recovers when Redis is back', async () => {
    const orders = sample.app.get(OrdersService);
    expect((await submit('1')).status).toBe(201);
    const placed = orders.placedCount;

    await server.stop();

    for (const userId of ['1', '2', '3']) {
      const res = await submit(userId);
      expect(res.status).toBe(503);
      // The Redis error stays in the server's logs.
      expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|order:/);
    }
    expect(orders.placedCount).toBe(placed);

    await server.restart();

    // ioredis reconnects on its own schedule: retry a bounded number of times.
    let status = 0;
    for (let attempt = 0; attempt < 100; attempt++) {
      status = (await submit('1')).status;
      if (status !== 503) break;
      await sleep(100);
    }
    expect(status).toBe(201);
    expect(orders.placedCount).toBe(placed + 1);
  });
});
