import request from 'supertest';
import { LockService } from '../../lib';
import { useRedisServer } from '../support/use-redis-server';
import { countStatuses } from './support/sample-app';
import { Adapter, IdempotentApp, RunCounter, startIdempotentApp } from './support/idempotent-app';

const PROBLEM = /^application\/problem\+json/;

function post(app: IdempotentApp, path: string, key: string | undefined, body: object = {}) {
  const req = request(app.url).post(path);
  if (key !== undefined) req.set('Idempotency-Key', key);
  return req.send(body);
}

describe.each<Adapter>(['express', 'fastify'])('@Idempotent on %s, two instances', (adapter) => {
  const fx = useRedisServer({ flush: true });

  describe('on one Redis', () => {
    let a: IdempotentApp;
    let b: IdempotentApp;
    let runs: RunCounter;

    beforeAll(async () => {
      a = await startIdempotentApp({ redisUrl: fx.server.url, adapter, workMs: 300 });
      b = await startIdempotentApp({ redisUrl: fx.server.url, adapter, workMs: 300 });
      runs = a.app.get(RunCounter);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('runs the handler once for 20 concurrent duplicates: one 201, nineteen 409 with Retry-After', async () => {
      const body = { sku: 'A-1', qty: 2 };
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(i % 2 ? b : a, '/orders', 'order-20', body)),
      );
      expect(countStatuses(responses)).toEqual({ 201: 1, 409: 19 });
      expect(await runs.count('create')).toBe(1);
      for (const res of responses.filter((r) => r.status === 409)) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(res.headers['content-type']).toMatch(PROBLEM);
        expect(res.body).toMatchObject({ status: 409, title: 'Request in progress' });
      }
      // Once the first has completed, a retry on either instance replays it.
      const retry = await post(b, '/orders', 'order-20', body);
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual(responses.find((r) => r.status === 201)?.body);
      expect(await runs.count('create')).toBe(1);
    });

    it("with onInFlight 'wait', twenty identical 201 bodies, nineteen replayed, one run", async () => {
      const body = { sku: 'W-1' };
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(i % 2 ? b : a, '/orders/waiting', 'wait-20', body),
        ),
      );
      expect(countStatuses(responses)).toEqual({ 201: 20 });
      expect(await runs.count('waiting')).toBe(1);
      const replayed = responses.filter((r) => r.headers['idempotent-replayed'] === 'true');
      expect(replayed).toHaveLength(19);
      for (const res of responses) expect(res.body).toEqual({ order: 1, body });
    });

    it('replays status, body and allowed headers on the other instance', async () => {
      const first = await post(a, '/orders', 'replay-1', { sku: 'R-1', qty: 1 });
      expect(first.status).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const again = await post(b, '/orders', 'replay-1', { sku: 'R-1', qty: 1 });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers['location']).toBe('/orders/latest');
      expect(again.headers['content-type']).toBe(first.headers['content-type']);
      expect(await runs.count('create')).toBe(1);
    });

    it('answers 422 to a changed body on both instances, and replays reordered JSON keys', async () => {
      const first = await request(a.url)
        .post('/orders')
        .set('Idempotency-Key', 'body-1')
        .set('Content-Type', 'application/json')
        .send('{"sku":"B-1","qty":1}');
      expect(first.status).toBe(201);
      for (const app of [a, b]) {
        const changed = await post(app, '/orders', 'body-1', { sku: 'B-1', qty: 2 });
        expect(changed.status).toBe(422);
        expect(changed.headers['content-type']).toMatch(PROBLEM);
        expect(JSON.stringify(changed.body)).not.toContain('body-1');
      }
      const reordered = await request(b.url)
        .post('/orders')
        .set('Idempotency-Key', 'body-1')
        .set('Content-Type', 'application/json')
        .send('{"qty":1,"sku":"B-1"}');
      expect(reordered.status).toBe(201);
      expect(reordered.headers['idempotent-replayed']).toBe('true');
      expect(await runs.count('create')).toBe(1);
    });

    it('answers 422 to a changed body while the first is still in flight', async () => {
      const first = post(a, '/orders', 'body-2', { sku: 'B-2' }).then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const changed = await post(b, '/orders', 'body-2', { sku: 'other' });
      expect(changed.status).toBe(422);
      expect((await first).status).toBe(201);
    });

    it('runs again after a 5xx or a thrown non-HTTP error, and replays a 4xx', async () => {
      const broken = await post(a, '/orders/broken', 'fail-1');
      expect(broken.status).toBe(500);
      const fixed = await post(b, '/orders/broken', 'fail-1');
      expect(fixed.status).toBe(201);
      expect(fixed.headers['idempotent-replayed']).toBeUndefined();
      expect(await runs.count('broken')).toBe(2);

      expect((await post(a, '/orders/crash', 'fail-2')).status).toBe(500);
      expect((await post(b, '/orders/crash', 'fail-2')).status).toBe(201);
      expect(await runs.count('crash')).toBe(2);

      const bad = await post(a, '/orders/bad', 'fail-3');
      expect(bad.status).toBe(400);
      const badAgain = await post(b, '/orders/bad', 'fail-3');
      expect(badAgain.status).toBe(400);
      expect(badAgain.body).toEqual(bad.body);
      expect(badAgain.headers['idempotent-replayed']).toBe('true');
      expect(await runs.count('bad')).toBe(1);
    });

    it('stores nothing for a request that a ValidationPipe or ParseIntPipe refused', async () => {
      const invalid = await post(a, '/orders/validated', 'pipe-1', { sku: 'V', qty: 0 });
      expect(invalid.status).toBe(400);
      expect(invalid.headers['idempotent-replayed']).toBeUndefined();
      // The same key with a valid body is a new request, not a 422 and not a replay.
      const valid = await post(b, '/orders/validated', 'pipe-1', { sku: 'V', qty: 1 });
      expect(valid.status).toBe(201);
      expect(valid.headers['idempotent-replayed']).toBeUndefined();
      expect(await runs.count('validated')).toBe(1);

      expect((await post(a, '/orders/by-id/x', 'pipe-2')).status).toBe(400);
      expect((await post(b, '/orders/by-id/x', 'pipe-2')).headers['idempotent-replayed']).toBe(
        undefined,
      );
      expect(await runs.count('by-id')).toBe(0);
    });

    it('keeps scopes apart: the same key from two users creates two orders', async () => {
      const as = (app: IdempotentApp, user: string) =>
        request(app.url)
          .post('/orders')
          .set('Idempotency-Key', 'scoped')
          .set('X-User', user)
          .send({ sku: 'S' });
      const [one, two] = [await as(a, 'alice'), await as(b, 'bob')];
      expect([one.status, two.status]).toEqual([201, 201]);
      expect(one.body.order).not.toBe(two.body.order);
      expect((await as(b, 'alice')).headers['idempotent-replayed']).toBe('true');
      expect(await runs.count('create')).toBe(2);
    });

    it('keeps routes apart: the same key on two routes runs both', async () => {
      expect((await post(a, '/orders', 'route-key', { sku: 'X' })).status).toBe(201);
      const other = await post(a, '/orders/waiting', 'route-key', { sku: 'X' });
      expect(other.status).toBe(201);
      expect(other.headers['idempotent-replayed']).toBeUndefined();
    });

    it('refuses missing, repeated and malformed keys with a 400 problem naming the header', async () => {
      const secret = 'secret-key-value-\u00e9';
      const cases = [
        request(a.url).post('/orders').send({}),
        request(a.url).post('/orders').set('Idempotency-Key', '').send({}),
        request(a.url)
          .post('/orders')
          .set('Idempotency-Key', ['k1', 'k2'] as unknown as string)
          .send({}),
        request(a.url).post('/orders').set('Idempotency-Key', '"unterminated').send({}),
        request(a.url).post('/orders').set('Idempotency-Key', 'x'.repeat(256)).send({}),
        request(a.url).post('/orders').set('Idempotency-Key', secret).send({}),
      ];
      for (const res of await Promise.all(cases)) {
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(PROBLEM);
        expect(res.body.detail).toContain('Idempotency-Key');
        expect(JSON.stringify(res.body)).not.toContain('secret-key');
        expect(JSON.stringify(res.body)).not.toContain('k2');
      }
      expect(await runs.count('create')).toBe(0);
    });

    it('reads the quoted structured-field form as the same key as the bare one', async () => {
      const first = await post(a, '/orders', '"quoted-1"', { sku: 'Q' });
      expect(first.status).toBe(201);
      const bare = await post(b, '/orders', 'quoted-1', { sku: 'Q' });
      expect(bare.headers['idempotent-replayed']).toBe('true');
      expect(await runs.count('create')).toBe(1);
    });

    it('replays an Observable handler and a passthrough status with a text body', async () => {
      const first = await post(a, '/orders/observable', 'obs-1');
      expect(first.status).toBe(202);
      const again = await post(b, '/orders/observable', 'obs-1');
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await runs.count('observable')).toBe(1);

      const text = await post(a, '/orders/text', 'text-1');
      const textAgain = await post(b, '/orders/text', 'text-1');
      expect([text.status, textAgain.status]).toEqual([202, 202]);
      expect(textAgain.text).toBe(text.text);
      expect(textAgain.headers['content-type']).toBe(text.headers['content-type']);
      expect(await runs.count('text')).toBe(1);
    });

    it('never stores a streamed response: the claim is given back and a retry runs again', async () => {
      const first = await post(a, '/orders/file', 'file-1');
      expect(first.status).toBe(201);
      const again = await post(b, '/orders/file', 'file-1');
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBeUndefined();
      expect(await runs.count('file')).toBe(2);
    });

    it('does not store a 409 from @WithLock on the same handler: the retry runs', async () => {
      const held = await a.app.get(LockService).acquire('sku:L-1');
      const busy = await post(a, '/orders/locked', 'locked-1', { sku: 'L-1' });
      expect(busy.status).toBe(409);
      await held.release();
      const retry = await post(b, '/orders/locked', 'locked-1', { sku: 'L-1' });
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(await runs.count('locked')).toBe(1);
    });

    it('does not store a 409 from @WithLock in the other decorator order either', async () => {
      const held = await a.app.get(LockService).acquire('sku:L-2');
      expect((await post(a, '/orders/locked-inside', 'locked-2', { sku: 'L-2' })).status).toBe(409);
      await held.release();
      const retry = await post(b, '/orders/locked-inside', 'locked-2', { sku: 'L-2' });
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
    });

    it('gives the handler a fencing token that grows from claim to claim', async () => {
      const first = await post(a, '/orders', 'fence-1', { sku: 'F' });
      const second = await post(b, '/orders', 'fence-2', { sku: 'F' });
      expect(typeof first.body.fence).toBe('number');
      expect(second.body.fence).toBeGreaterThan(first.body.fence);
    });

    it('answers 500 without running again when a stored outcome cannot be read back', async () => {
      expect((await post(a, '/orders', 'corrupt-1', { sku: 'C' })).status).toBe(201);
      const [record] = await fx.redis.keys('lock:idem:*:record');
      const fingerprint = (await fx.redis.get(record))!.split('\n')[0];
      await fx.redis.set(record, `${fingerprint}\n{not json`);
      const res = await post(b, '/orders', 'corrupt-1', { sku: 'C' });
      expect(res.status).toBe(500);
      expect(await runs.count('create')).toBe(1);
    });

    it('leaves no lock behind: only the records and fencing counters', async () => {
      await Promise.all([
        post(a, '/orders', 'left-1', { sku: 'L' }),
        post(b, '/orders', 'left-1', { sku: 'L' }),
        post(a, '/orders/broken', 'left-2'),
        post(a, '/orders/validated', 'left-3', { sku: 'V', qty: 0 }),
      ]);
      const keys = (await fx.redis.keys('lock:*')).sort();
      expect(keys.filter((k) => !/(:record|fence\{[0-9a-z]+\})$/.test(k))).toEqual([]);
      expect(a.app.get(LockService).heldCount + b.app.get(LockService).heldCount).toBe(0);
    });
  });
});

describe('@Idempotent on the memory store', () => {
  const fx = useRedisServer({ flush: true });

  describe('one instance', () => {
    let app: IdempotentApp;
    let runs: RunCounter;
    beforeAll(async () => {
      app = await startIdempotentApp({
        redisUrl: fx.server.url,
        store: 'memory',
        adapter: 'express',
        workMs: 200,
      });
      runs = app.app.get(RunCounter);
    });
    afterAll(() => app?.close());

    it('refuses concurrent duplicates, then replays; 422 on a changed body', async () => {
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => post(app, '/orders', 'mem-1', { sku: 'M' })),
      );
      expect(countStatuses(responses)).toEqual({ 201: 1, 409: 9 });
      const again = await post(app, '/orders', 'mem-1', { sku: 'M' });
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect((await post(app, '/orders', 'mem-1', { sku: 'N' })).status).toBe(422);
      expect(await runs.count('create')).toBe(1);
    });

    it("with onInFlight 'wait', every duplicate gets the first response", async () => {
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => post(app, '/orders/waiting', 'mem-2', { sku: 'M' })),
      );
      expect(countStatuses(responses)).toEqual({ 201: 10 });
      expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
      expect(await runs.count('waiting')).toBe(1);
    });

    it('runs again after a 5xx and stores nothing for a refused pipe', async () => {
      expect((await post(app, '/orders/broken', 'mem-3')).status).toBe(500);
      expect((await post(app, '/orders/broken', 'mem-3')).status).toBe(201);
      expect((await post(app, '/orders/validated', 'mem-4', { qty: 0 })).status).toBe(400);
      expect((await post(app, '/orders/validated', 'mem-4', { sku: 'a', qty: 1 })).status).toBe(
        201,
      );
      expect(app.app.get(LockService).heldCount).toBe(0);
    });
  });
});

describe('@Idempotent with module defaults', () => {
  const fx = useRedisServer({ flush: true });

  describe('header and onInFlight set in forRoot', () => {
    let app: IdempotentApp;
    beforeAll(async () => {
      app = await startIdempotentApp({
        redisUrl: fx.server.url,
        adapter: 'express',
        workMs: 200,
        idempotency: { header: 'X-Request-Id', onInFlight: 'wait' },
      });
    });
    afterAll(() => app?.close());

    it('reads the key from the configured header and waits for duplicates', async () => {
      const send = () =>
        request(app.url).post('/orders').set('X-Request-Id', 'r1').send({ sku: 'D' });
      const responses = await Promise.all([send(), send(), send()]);
      expect(countStatuses(responses)).toEqual({ 201: 3 });
      expect(await app.app.get(RunCounter).count('create')).toBe(1);
      const wrongHeader = await post(app, '/orders', 'r1', { sku: 'D' });
      expect(wrongHeader.status).toBe(400);
      expect(wrongHeader.body.detail).toContain('X-Request-Id');
    });
  });
});
