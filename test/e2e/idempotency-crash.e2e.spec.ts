import request from 'supertest';
import { killAllWorkers, spawnWorker, waitUntil, Worker } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

/** The lease the workers' handler claims its key with (`@Idempotent({ lease: 2000 })`). */
const LEASE_MS = 2000;
const WORKER = '../e2e/support/idempotent-worker.js';

interface Instance {
  readonly worker: Worker;
  readonly url: string;
}

async function startInstance(url: string, name: string, hang: boolean): Promise<Instance> {
  const worker = spawnWorker(WORKER, { url, name, hang });
  const listening = await worker.message('listening');
  return { worker, url: listening.url as string };
}

describe('an idempotent request whose instance is killed mid-handler (real redis-server)', () => {
  const fixture = useRedisServer({ build: true, flush: true });

  // Closed before the outer fixture stops Redis (afterAll hooks run in declaration order).
  describe('two instances of the app, in child processes, on one Redis', () => {
    let crashing: Instance;
    let survivor: Instance;

    beforeAll(async () => {
      [crashing, survivor] = await Promise.all([
        startInstance(fixture.server.url, 'crashing', true),
        startInstance(fixture.server.url, 'survivor', false),
      ]);
    });

    afterAll(async () => {
      await killAllWorkers();
    });

    const post = (instance: Instance, key: string, body: object) =>
      request(instance.url).post('/crash/orders').set('Idempotency-Key', key).send(body);

    it('refuses a retry with 409 while the dead claim lasts, then runs it once after one lease', async () => {
      const redis = fixture.redis;
      const key = 'checkout-7f3a';
      const body = { sku: 'A-1', qty: 2 };

      // The first request reaches the instance that will die; it never gets an answer.
      const first = post(crashing, key, body).then(
        (res) => res,
        (err: unknown) => err,
      );
      await waitUntil(
        async () => (await redis.get('fence:crashed')) !== null,
        'the first request to be running on the crashing instance',
      );
      expect(await redis.get('runs:crash')).toBe('1');
      const crashedFence = Number(await redis.get('fence:crashed'));

      // The claim is a lock with a lease, renewed by the crashing instance's watchdog.
      const [lockKey, ...others] = (await redis.keys('lock:idem:*')).filter((k) =>
        /^lock:idem:\{[^}]+\}$/.test(k),
      );
      expect(others).toEqual([]);
      const leaseReadAt = Date.now();
      const leaseLeft = await redis.pttl(lockKey);
      expect(leaseLeft).toBeGreaterThan(0);
      expect(leaseLeft).toBeLessThanOrEqual(LEASE_MS);

      await crashing.worker.kill();
      const exit = await crashing.worker.exited;
      expect(exit.signal).toBe('SIGKILL');
      // The connection dies with it: no response at all.
      const lost = (await first) as { code?: string; status?: number };
      expect(lost.status).toBeUndefined();
      expect(lost.code).toBe('ECONNRESET');

      // At once, on the other instance: the dead claim still holds the key.
      const early = await post(survivor, key, body);
      expect(early.status).toBe(409);
      expect(early.headers['content-type']).toMatch(/^application\/problem\+json/);
      const retryAfter = Number(early.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(LEASE_MS / 1000));
      // Another request with the key is refused as a reuse, not queued behind the dead one.
      expect((await post(survivor, key, { sku: 'B-2', qty: 1 })).status).toBe(422);
      expect(await redis.get('runs:crash')).toBe('1');

      // Retries (as a client would, a little faster) get 409 until the lease has run out,
      // then the handler runs again: bounded, so a claim that never expired fails the test.
      const deadline = leaseReadAt + LEASE_MS + 3000;
      let retry = early;
      let refusals = 1;
      while (retry.status === 409) {
        expect(retry.headers['retry-after']).toMatch(/^[12]$/);
        if (Date.now() > deadline) {
          throw new Error(`still 409 ${Date.now() - leaseReadAt} ms after the lease was read`);
        }
        await new Promise((r) => setTimeout(r, 50));
        retry = await post(survivor, key, body);
        if (retry.status === 409) refusals++;
      }
      const ranAt = Date.now();
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(retry.body).toMatchObject({ run: 2, instance: 'survivor', sku: 'A-1' });
      expect(await redis.get('runs:crash')).toBe('2');
      // Not before the dead instance's lease ended (the lease can only have been extended
      // after it was read), and refused meanwhile.
      expect(ranAt).toBeGreaterThanOrEqual(leaseReadAt + leaseLeft - 25);
      expect(refusals).toBeGreaterThan(1);

      // The retry's claim is fenced above the dead one's: a write it guards refuses the zombie.
      expect(Number.isInteger(crashedFence)).toBe(true);
      expect(retry.body.fence).toBeGreaterThan(crashedFence);

      // From now on the stored outcome is replayed, without running the handler.
      const replay = await post(survivor, key, body);
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(retry.body);
      expect(await redis.get('runs:crash')).toBe('2');
      // No lock is left: only the record (and the slot's fencing counter, outside idem:).
      expect(await redis.keys('lock:idem:*')).toEqual([`${lockKey}:record`]);
    });
  });
});
