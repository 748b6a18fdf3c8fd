import { Redis } from 'ioredis';
import { LockService } from '../../lib';
import { LockStoreUnavailableError } from '../../lib/errors/lock-store-unavailable.error';
import { HoldMode, lockResource, LockResource } from '../../lib/stores/lock-resource';
import type { LockStore } from '../../lib/stores/lock-store.interface';
import { MemoryLockStore } from '../../lib/stores/memory-lock.store';
import { RedisLockStore } from '../../lib/stores/redis-lock.store';
import { useRedisServer } from '../support/use-redis-server';
import { isFenceCounter } from '../support/fence-keys';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fixture = useRedisServer({ flush: true });
const PREFIX = 'hz:';

function resource(key: string, mode: HoldMode = 'x', permits = 0): LockResource {
  return lockResource(PREFIX, mode === 's' ? 'sem:' : '', key, mode, permits);
}

/** Every key under the test prefix with its content (TTLs aside), to show that nothing changed. */
async function redisContent(redis: Redis): Promise<Record<string, unknown>> {
  const content: Record<string, unknown> = {};
  for (const key of (await redis.keys(`${PREFIX}*`)).sort()) {
    const type = await redis.type(key);
    if (type === 'string') content[key] = await redis.get(key);
    else if (type === 'zset') content[key] = await redis.zrange(key, '0', '-1', 'WITHSCORES');
    else if (type === 'hash') content[key] = await redis.hgetall(key);
    else content[key] = type;
  }
  return content;
}

interface Backend {
  readonly name: string;
  store(): LockStore;
  service(): LockService;
  /** What the store keeps about resources under the test prefix, fencing counters aside. */
  leftovers(store: LockStore): Promise<string[]>;
  /** What the store keeps about `r`, as far as it can be seen. */
  content(store: LockStore, r: LockResource): Promise<unknown>;
}

const backends: Backend[] = [
  {
    name: 'redis store',
    store: () => new RedisLockStore(new Redis(fixture.server.url), true, 2_000),
    service: () => new LockService({ redis: fixture.server.url }),
    leftovers: async () =>
      (await fixture.redis.keys(`${PREFIX}*`)).filter((k) => !isFenceCounter(k)).sort(),
    content: () => redisContent(fixture.redis),
  },
  {
    name: 'memory store',
    store: () => new MemoryLockStore(),
    service: () => new LockService(),
    leftovers: async (store) => {
      const size = (store as MemoryLockStore).size;
      return size > 0 ? [`${size} resource(s) with state`] : [];
    },
    content: async (store, r) => ({
      locked: await store.isLocked(r),
      resources: (store as MemoryLockStore).size,
    }),
  },
];

const MISS = { retryInMs: expect.any(Number) };
const FENCE = expect.any(Number);

describe.each(backends)('store hazards ($name)', (backend) => {
  let store: LockStore;

  beforeEach(() => {
    store = backend.store();
  });

  afterEach(async () => {
    await store.close();
  });

  describe('a call by the token that already holds the resource succeeds', () => {
    it('acquire renews an exclusive lock to the lease asked for, with a higher fencing token', async () => {
      const r = resource('own');
      const first = (await store.acquireFast(r, 'holder', 200)) as number;
      expect(first).toEqual(FENCE);
      const again = await store.acquire(r, 'holder', 5_000, 0);
      expect(again).toEqual(FENCE);
      expect(again as number).toBeGreaterThan(first);
      expect(await store.acquireFast(r, 'other', 5_000)).toBeNull();
      // The first lease (200 ms) is over; the renewed one is not.
      await sleep(350);
      expect(await store.isLocked(r)).toBe(true);
      expect(await store.acquire(r, 'other', 5_000, 0)).toEqual(MISS);
      expect(await store.release(r, 'holder', false)).toBe(true);
    });

    it('so does a repeated fast acquire', async () => {
      const r = resource('own-fast');
      const first = (await store.acquireFast(r, 'holder', 5_000)) as number;
      const again = await store.acquireFast(r, 'holder', 5_000);
      expect(again).toEqual(FENCE);
      expect(again as number).toBeGreaterThan(first);
      expect(await store.release(r, 'holder', false)).toBe(true);
    });

    it('while others wait, without joining the line behind them; its release still hands over', async () => {
      const r = resource('own-line');
      await store.acquireFast(r, 'holder', 5_000);
      expect(await store.acquire(r, 'waiter', 5_000, 5_000)).toEqual(MISS);
      expect(await store.acquire(r, 'holder', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.release(r, 'holder', false)).toBe(true);
      expect(await store.acquireFast(r, 'newcomer', 5_000)).toBeNull();
      expect(await store.acquire(r, 'waiter', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.release(r, 'waiter', false)).toBe(true);
      expect(await backend.leftovers(store)).toEqual([]);
    });

    it('a reader, even with a writer waiting', async () => {
      const read = resource('own-read', 'r');
      const write = resource('own-read', 'x');
      expect(await store.acquire(read, 'reader', 5_000, 0)).toEqual(FENCE);
      expect(await store.acquire(write, 'writer', 5_000, 5_000)).toEqual(MISS);
      expect(await store.acquire(read, 'reader', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.release(read, 'reader', false)).toBe(true);
      expect(await store.acquire(write, 'writer', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.release(write, 'writer', false)).toBe(true);
      expect(await backend.leftovers(store)).toEqual([]);
    });

    it('and a caller that gives up gives back a hold its token got by a call whose reply was lost', async () => {
      const r = resource('own-leave');
      const read = resource('own-leave', 'r');
      expect(await store.acquire(r, 'lost-reply', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.acquire(read, 'reader', 5_000, 5_000)).toEqual(MISS);
      await store.leave(r, 'lost-reply');
      expect(await store.acquire(read, 'reader', 5_000, 5_000)).toEqual(FENCE);
      await store.leave(read, 'reader');
      expect(await store.isLocked(r)).toBe(false);
      expect(await backend.leftovers(store)).toEqual([]);
    });

    it('a semaphore permit holder, without taking a second permit', async () => {
      const r = resource('own-permit', 's', 1);
      expect(await store.acquire(r, 'a', 5_000, 0)).toEqual(FENCE);
      expect(await store.acquire(r, 'a', 5_000, 0)).toEqual(FENCE);
      expect(await store.acquire(r, 'b', 5_000, 0)).toEqual(MISS);
      expect(await store.release(r, 'a', false)).toBe(true);
      expect(await store.acquire(r, 'b', 5_000, 0)).toEqual(FENCE);
      expect(await store.release(r, 'b', false)).toBe(true);
      expect(await backend.leftovers(store)).toEqual([]);
    });
  });

  describe.each<[HoldMode, number]>([
    ['x', 0],
    ['r', 0],
    ['s', 2],
  ])('in mode %s, a repeated release or leave', (mode, permits) => {
    it('returns false and changes nothing', async () => {
      const r = resource(`again-${mode}`, mode, permits);
      // Held, with someone waiting: a writer behind readers, a third caller behind the others.
      const blocked = mode === 'r' ? resource(`again-${mode}`, 'x') : r;
      expect(await store.acquire(r, 'first', 5_000, 0)).toEqual(FENCE);
      if (mode !== 'x') expect(await store.acquire(r, 'second', 5_000, 0)).toEqual(FENCE);
      expect(await store.acquire(blocked, 'waiting', 5_000, 5_000)).toEqual(MISS);
      expect(await store.release(r, 'first', false)).toBe(true);
      const before = await backend.content(store, r);
      expect(await store.release(r, 'first', false)).toBe(false);
      expect(await store.release(r, 'first', true)).toBe(false);
      await store.leave(r, 'first');
      expect(await backend.content(store, r)).toEqual(before);
    });
  });

  describe('readers that released or died keep no writer out', () => {
    it('the lock is free as soon as the last live read lease ends', async () => {
      const read = resource('readers', 'r');
      const write = resource('readers', 'x');
      expect(await store.acquire(read, 'long', 10_000, 0)).toEqual(FENCE);
      expect(await store.acquire(read, 'short', 300, 0)).toEqual(FENCE);
      expect(await store.release(read, 'long', false)).toBe(true);
      expect(await store.acquire(write, 'writer', 5_000, 0)).toEqual(MISS);
      // 'short' dies without releasing.
      await sleep(400);
      expect(await store.isLocked(write)).toBe(false);
      expect(await store.acquire(write, 'writer', 5_000, 0)).toEqual(FENCE);
      expect(await store.release(write, 'writer', false)).toBe(true);
    });

    it('a writer waiting in line gets in once the readers are gone', async () => {
      const read = resource('readers-line', 'r');
      const write = resource('readers-line', 'x');
      await store.acquire(read, 'long', 10_000, 0);
      await store.acquire(read, 'short', 300, 0);
      expect(await store.acquire(write, 'writer', 5_000, 5_000)).toEqual(MISS);
      expect(await store.release(read, 'long', false)).toBe(true);
      expect(await store.acquire(write, 'writer', 5_000, 5_000)).toEqual(MISS);
      await sleep(400);
      expect(await store.acquire(write, 'writer', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.release(write, 'writer', false)).toBe(true);
      expect(await backend.leftovers(store)).toEqual([]);
    });

    it('a reader that renews with a shorter lease shortens the lock too', async () => {
      const read = resource('readers-shorter', 'r');
      await store.acquire(read, 'reader', 10_000, 0);
      expect(await store.extend(read, 'reader', 200)).toBe(true);
      await sleep(300);
      expect(await store.isLocked(read)).toBe(false);
    });
  });

  describe('a semaphore has one permit count per key', () => {
    const message =
      'Semaphore "pool" is in use with 2 permits; this call asked for 5. Use one permit count per key.';

    it('while it is held, another count is a TypeError (not a 503); once idle, a new count is used', async () => {
      const two = resource('pool', 's', 2);
      const five = resource('pool', 's', 5);
      expect(await store.acquire(two, 'a', 5_000, 0)).toEqual(FENCE);
      expect(await store.acquire(two, 'b', 5_000, 0)).toEqual(FENCE);
      const refused = await store.acquire(five, 'c', 5_000, 5_000).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TypeError);
      expect(refused).not.toBeInstanceOf(LockStoreUnavailableError);
      expect((refused as Error).message).toBe(message);
      // Two permits, both taken; the refused call did not queue.
      expect(await store.acquire(two, 'd', 5_000, 0)).toEqual(MISS);
      await store.release(two, 'a', false);
      await store.release(two, 'b', false);
      for (const token of ['c1', 'c2', 'c3', 'c4', 'c5']) {
        expect(await store.acquire(five, token, 5_000, 0)).toEqual(FENCE);
      }
      expect(await store.acquire(five, 'c6', 5_000, 0)).toEqual(MISS);
      for (const token of ['c1', 'c2', 'c3', 'c4', 'c5']) await store.release(five, token, false);
      expect(await backend.leftovers(store)).toEqual([]);
    });

    it('waiters alone keep it in use', async () => {
      const one = resource('pool-line', 's', 1);
      const three = resource('pool-line', 's', 3);
      expect(await store.acquire(one, 'dies', 100, 0)).toEqual(FENCE);
      expect(await store.acquire(one, 'waits', 5_000, 5_000)).toEqual(MISS);
      await sleep(150);
      await expect(store.acquire(three, 'other', 5_000, 0)).rejects.toBeInstanceOf(TypeError);
      expect(await store.acquire(one, 'waits', 5_000, 5_000)).toEqual(FENCE);
      expect(await store.release(one, 'waits', false)).toBe(true);
      expect(await backend.leftovers(store)).toEqual([]);
    });

    it('through LockService too', async () => {
      const locks = backend.service();
      try {
        const permit = await locks.semaphore('svc-pool', 2).acquire();
        await expect(locks.semaphore('svc-pool', 5).tryAcquire()).rejects.toThrow(
          /^Semaphore "svc-pool" is in use with 2 permits; this call asked for 5\./,
        );
        await expect(
          locks.semaphore('svc-pool', 5).acquire({ waitTimeout: 1_000 }),
        ).rejects.toBeInstanceOf(TypeError);
        await permit.release();
        await (await locks.semaphore('svc-pool', 5).acquire()).release();
      } finally {
        await locks.close();
      }
    });
  });
});

describe('store hazards (redis store only)', () => {
  let store: RedisLockStore;

  beforeEach(() => {
    store = new RedisLockStore(new Redis(fixture.server.url), true, 2_000);
  });

  afterEach(async () => {
    await store.close();
  });

  it('the readers marker and holders set last exactly as long as the latest live read lease', async () => {
    const read = resource('marker', 'r');
    await store.acquire(read, 'long', 10_000, 0);
    await store.acquire(read, 'short', 300, 0);
    await store.release(read, 'long', false);
    const [lockKey, , , , , holdersKey] = read.storeKeys;
    expect(await fixture.redis.pttl(lockKey)).toBeLessThanOrEqual(300);
    expect(await fixture.redis.pttl(holdersKey)).toBeLessThanOrEqual(300);
    await store.release(read, 'short', false);
    expect(await fixture.redis.exists(lockKey, holdersKey)).toBe(0);
  });

  it('under steady contention, hand-overs to holders that die leave nothing behind', async () => {
    const r = resource('pile');
    const handoffKey = r.storeKeys[6];
    const ROUNDS = 20;
    let largest = 0;
    expect(await store.acquireFast(r, 'live-0', 10_000)).toEqual(FENCE);
    for (let i = 0; i < ROUNDS; i++) {
      // The next holder dies as soon as it is handed the lock: it never releases it.
      expect(await store.acquire(r, `dead-${i}`, 60, 10_000)).toEqual(MISS);
      expect(await store.acquire(r, `live-${i + 1}`, 10_000, 10_000)).toEqual(MISS);
      expect(await store.release(r, `live-${i}`, false)).toBe(true);
      largest = Math.max(largest, await fixture.redis.hlen(handoffKey));
      // Its 60 ms hand-over runs out; the live waiter behind it takes the lock at its next look.
      await sleep(80);
      expect(await store.acquire(r, `live-${i + 1}`, 10_000, 10_000)).toEqual(FENCE);
    }
    // Never more than the one waiter in line at a time.
    expect(largest).toBeLessThanOrEqual(1);
    expect(await store.release(r, `live-${ROUNDS}`, false)).toBe(true);
    expect((await fixture.redis.keys(`${PREFIX}*`)).sort()).toEqual([r.fastKeys[1]]);
  });

  it('a holder handed the lock hands it on even when its release says it was not handed over', async () => {
    const r = resource('hint');
    await store.acquireFast(r, 'holder', 10_000);
    await store.acquire(r, 'first', 10_000, 10_000);
    await store.acquire(r, 'second', 10_000, 10_000);
    expect(await store.release(r, 'holder', false)).toBe(true);
    expect(await store.release(r, 'first', false)).toBe(true);
    // Not left free for a newcomer: it went straight to the next in line.
    expect(await store.acquireFast(r, 'newcomer', 10_000)).toBeNull();
    expect(await store.acquire(r, 'second', 10_000, 10_000)).toEqual(FENCE);
    expect(await store.release(r, 'second', false)).toBe(true);
    expect(await fixture.redis.keys(`${PREFIX}*`)).toEqual([r.fastKeys[1]]);
  });

  it('an uncontended exclusive renewal and release name the lock key alone', async () => {
    const r = resource('one-key');
    const monitor = await fixture.redis.monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    try {
      await store.acquireFast(r, 'holder', 10_000);
      await store.extend(r, 'holder', 10_000);
      await store.release(r, 'holder', false);
      await sleep(50);
    } finally {
      monitor.disconnect();
    }
    const calls = seen.filter(([command]) => /^eval/i.test(command));
    // EVALSHA sha numkeys key...: acquire names L and F; renewal and release L alone.
    expect(calls.map((args) => args.slice(2, 3 + Number(args[2])))).toEqual([
      ['2', r.id, r.fastKeys[1]],
      ['1', r.id],
      ['1', r.id],
    ]);
  });
});
