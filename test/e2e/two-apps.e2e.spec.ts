import type { Redis } from 'ioredis';
import request from 'supertest';
import { LockService } from '../../lib';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { redisClient, SampleApp, startSampleApp, waitFor } from './support/sample-app';
import { fenceKeyOf } from '../support/fence-keys';

describe('two applications in one process, each on its own Redis', () => {
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  const apps: SampleApp[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const server = await startRedisServer();
      servers.push(server);
      clients.push(redisClient(server.url));
      apps.push(await startSampleApp({ redisUrl: server.url, orderWorkMs: 1000 }));
    }
  });

  afterAll(async () => {
    for (const sample of apps) await sample.close();
    for (const client of clients) client.disconnect();
    for (const server of servers) await server.stop();
  });

  it('never share locks: order:1 held in app A does not block app B', async () => {
    const [a, b] = apps;
    const locksA = a.app.get(LockService);
    const locksB = b.app.get(LockService);
    expect(locksA).not.toBe(locksB);
    const submit = (sample: SampleApp) => request(sample.url).post('/users/1/orders');

    // `.then` sends the request; it stays in flight (1 s of work) while we look.
    const slowA = submit(a).then((res) => res);
    await waitFor(() => locksA.isLocked('order:1'), 'app A to hold order:1');
    const slowB = submit(b).then((res) => res);
    await waitFor(() => locksB.isLocked('order:1'), 'app B to hold order:1');
    expect(await locksA.isLocked('order:1')).toBe(true);

    // Each app's own lock still works.
    expect((await submit(a)).status).toBe(409);
    expect((await submit(b)).status).toBe(409);

    expect((await slowA).status).toBe(201);
    expect((await slowB).status).toBe(201);
    // Each app took the lock in its own Redis.
    for (const client of clients) expect(await client.exists(fenceKeyOf('order:1'))).toBe(1);
  });
});
