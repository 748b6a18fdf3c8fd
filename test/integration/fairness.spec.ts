import { LockNotAcquiredError, LockService } from '../../lib';
import {
  killAllWorkers,
  lockKeys,
  spawnWorker,
  waitUntil,
  Worker,
  zmembers,
} from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Far longer than any test here waits: order and wake-ups must not come from re-checking. */
const SLOW_RECHECK = 5000;

const fixture = useRedisServer({ build: true, flush: true });

const services: LockService[] = [];

function service(options: { recheckInterval?: number; redis?: string | undefined } = {}) {
  const created = new LockService({
    redis: 'redis' in options ? options.redis : fixture.server.url,
    recheckInterval: options.recheckInterval ?? SLOW_RECHECK,
  });
  services.push(created);
  return created;
}

afterEach(async () => {
  await killAllWorkers();
  const closing = services.splice(0);
  const held = closing.map((s) => s.heldCount);
  // Close everything first: a failed test must not leave connections that keep Jest alive.
  await Promise.all(closing.map((s) => s.onApplicationShutdown()));
  expect(held.every((n) => n === 0)).toBe(true);
});

describe('fair order across processes (real redis-server)', () => {
  it('hands the lock to waiting processes in the order they queued', async () => {
    const key = 'fair:order';
    const { queue } = lockKeys(key);
    const holder = service();
    const lock = await holder.acquire(key);

    const workers: Worker[] = [];
    for (const name of ['A', 'B', 'C']) {
      workers.push(
        spawnWorker('fair-worker.js', {
          url: fixture.server.url,
          key,
          name,
          list: 'fair:got',
          recheckInterval: SLOW_RECHECK,
          waitTimeout: 20_000,
          holdMs: 30,
        }),
      );
      // The next one starts only once this one is in line.
      await waitUntil(
        async () => (await fixture.redis.zcard(queue)) === workers.length,
        `${name} queued`,
      );
    }
    expect(await fixture.redis.lrange('fair:got', 0, -1)).toEqual([]);

    await lock.release();
    await Promise.all(workers.map((w) => w.result()));

    const got = (await fixture.redis.lrange('fair:got', 0, -1)).map((s) => JSON.parse(s).name);
    expect(got).toEqual(['A', 'B', 'C']);
    expect(await fixture.redis.exists(queue)).toBe(0);
  });

  it('drops a waiter that timed out from the line, and does not make the next one wait for it', async () => {
    const key = 'fair:timeout';
    const keys = lockKeys(key);
    const holder = service();
    const lock = await holder.acquire(key);

    const a = service().acquire(key, { waitTimeout: 300 });
    const aOutcome = a.then(
      () => 'acquired',
      (e: unknown) => e,
    );
    await waitUntil(async () => (await fixture.redis.zcard(keys.queue)) === 1, 'A queued');
    const [tokenA] = await zmembers(fixture.redis, keys.queue);

    const b = service().acquire(key, { waitTimeout: 10_000 });
    await waitUntil(async () => (await fixture.redis.zcard(keys.queue)) === 2, 'B queued');
    const [first, tokenB] = await zmembers(fixture.redis, keys.queue);
    expect(first).toBe(tokenA);

    expect(await aOutcome).toBeInstanceOf(LockNotAcquiredError);
    // Only B is left in line: queue, leases and writers alike.
    expect(await zmembers(fixture.redis, keys.queue)).toEqual([tokenB]);
    expect(await zmembers(fixture.redis, keys.waiters)).toEqual([tokenB]);
    expect(await zmembers(fixture.redis, keys.writers)).toEqual([tokenB]);

    const releasedAt = Date.now();
    await lock.release();
    const next = await b;
    const waitedAfterRelease = Date.now() - releasedAt;
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    expect(waitedAfterRelease).toBeLessThan(SLOW_RECHECK / 2);
    await next.release();
    expect(await fixture.redis.exists(keys.queue, keys.waiters, keys.writers)).toBe(0);
  });

  it('wakes a waiting process as soon as the holder releases (across processes)', async () => {
    const key = 'fair:wake-process';
    const holder = service();
    const lock = await holder.acquire(key);
    const worker = spawnWorker('fair-worker.js', {
      url: fixture.server.url,
      key,
      name: 'W',
      list: 'fair:got',
      recheckInterval: SLOW_RECHECK,
      waitTimeout: 20_000,
      holdMs: 0,
    });
    await waitUntil(async () => (await fixture.redis.zcard(lockKeys(key).queue)) === 1, 'W queued');
    await sleep(100);
    const releasedAt = Date.now();
    await lock.release();
    const acquired = await worker.message('acquired');
    expect(Number(acquired.at) - releasedAt).toBeLessThan(SLOW_RECHECK / 2);
    await worker.result();
  });

  it('a process killed while waiting stops blocking the line once its waiter lease ends', async () => {
    const key = 'fair:dead-waiter';
    const keys = lockKeys(key);
    const recheckInterval = 200; // waiter lease: 3 × 200 ms
    const holder = service({ recheckInterval });
    const lock = await holder.acquire(key);

    const doomed = spawnWorker('fair-worker.js', {
      url: fixture.server.url,
      key,
      name: 'dead',
      list: 'fair:got',
      recheckInterval,
      waitTimeout: 20_000,
      holdMs: 0,
    });
    await waitUntil(
      async () => (await fixture.redis.zcard(keys.queue)) === 1,
      'the doomed waiter queued',
    );
    const [deadToken] = await zmembers(fixture.redis, keys.queue);
    await doomed.kill();

    const next = service({ recheckInterval }).acquire(key, { waitTimeout: 5000 });
    await waitUntil(
      async () => (await fixture.redis.zcard(keys.queue)) === 2,
      'the next waiter queued',
    );
    // The dead waiter is still first in line when the lock is released.
    expect((await zmembers(fixture.redis, keys.queue))[0]).toBe(deadToken);
    await lock.release();

    const got = await next;
    expect(got.fencingToken).toBeGreaterThan(lock.fencingToken);
    expect(await fixture.redis.zscore(keys.queue, deadToken)).toBeNull();
    await got.release();
    expect(await fixture.redis.lrange('fair:got', 0, -1)).toEqual([]);
  });
});

describe.each([
  ['redis store', () => fixture.server.url],
  ['memory store', () => undefined],
])('prompt wake-up on release (%s)', (_name, url) => {
  it('a waiter gets the lock right after the release, not at its next re-check', async () => {
    const key = 'fair:wake';
    const holderService = service({ redis: url() });
    // The memory store is per service: the waiter must share it.
    const waiterService = url() ? service({ redis: url() }) : holderService;
    const lock = await holderService.acquire(key);

    const started = Date.now();
    const waiting = waiterService.acquire(key, { waitTimeout: 10_000 });
    await sleep(100);
    await lock.release();
    const next = await waiting;
    const elapsed = Date.now() - started;
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    expect(elapsed).toBeLessThan(SLOW_RECHECK / 2);
    await next.release();
  });
});
