import {
  Lock,
  LockLostError,
  LockNotAcquiredError,
  LockService,
  LockStoreUnavailableError,
} from '../../lib';
import { Redis } from 'ioredis';
import { lockResource } from '../../lib/stores/lock-resource';
import { RedisLockStore } from '../../lib/stores/redis-lock.store';
import { startRedisServer } from '../support/redis-server';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { fenceKeyOf } from '../support/fence-keys';
import { slotOf } from '../../lib/stores/cluster-slot';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `signal` aborts, or rejects after `ms` so a test fails instead of hanging. */
function aborted(signal: AbortSignal, ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(signal.reason);
    const timer = setTimeout(() => reject(new Error('signal was not aborted')), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    });
  });
}

const fixture = useRedisServer();

const stores: [string, () => LockService][] = [
  ['redis store', () => new LockService({ redis: fixture.server.url })],
  ['memory store', () => new LockService()],
];

describe.each(stores)('LockService on the %s', (_name, create) => {
  let locks: LockService;
  let other: LockService | undefined;
  let n = 0;
  let key: string;

  beforeEach(() => {
    locks = create();
    key = `resource:${process.pid}:${++n}`;
  });

  afterEach(async () => {
    expect(locks.heldCount).toBe(0);
    await locks.onApplicationShutdown();
    await other?.onApplicationShutdown();
    other = undefined;
  });

  it('acquires a free lock with a 128-bit token and a fencing token', async () => {
    const lock = await locks.acquire(key);
    expect(lock.key).toBe(key);
    expect(lock.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(typeof lock.fencingToken).toBe('number');
    expect(await locks.isLocked(key)).toBe(true);
    expect(await lock.release()).toBe(true);
    expect(await locks.isLocked(key)).toBe(false);
  });

  it('gives every lock a different token', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const lock = await locks.acquire(`${key}:${i}`);
      tokens.add(lock.token);
      await lock.release();
    }
    expect(tokens.size).toBe(50);
  });

  it('rejects a second holder with LockNotAcquiredError (409) once waitTimeout is over', async () => {
    const lock = await locks.acquire(key);
    const error = await locks.acquire(key, { waitTimeout: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockNotAcquiredError);
    expect((error as LockNotAcquiredError).getStatus()).toBe(409);
    expect((error as LockNotAcquiredError).message).not.toContain(key);
    await lock.release();
  });

  it('waits the whole waitTimeout before giving up', async () => {
    const lock = await locks.acquire(key);
    const started = Date.now();
    await expect(locks.acquire(key, { waitTimeout: 300 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    await lock.release();
  });

  it('hands the lock to a waiter when the holder releases within waitTimeout', async () => {
    const lock = await locks.acquire(key);
    const waiting = locks.acquire(key, { waitTimeout: 5000 });
    await sleep(50);
    await lock.release();
    const next = await waiting;
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    await next.release();
  });

  it('waitTimeout Infinity waits until the lock is free', async () => {
    const lock = await locks.acquire(key);
    setTimeout(() => void lock.release(), 100);
    const next = await locks.acquire(key, { waitTimeout: Infinity });
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    await next.release();
  });

  it('current() shows the call chain its own lock, and nothing outside it', async () => {
    expect(locks.current(key)).toBeUndefined();
    await locks.using(key, async (lock) => {
      await sleep(1);
      const seen = locks.current(key);
      expect(seen?.fencingToken).toBe(lock.fencingToken);
      expect(seen?.signal.aborted).toBe(false);
      expect(seen).not.toHaveProperty('release');
    });
    expect(locks.current(key)).toBeUndefined();
  });

  it('tryAcquire resolves null at once when the lock is held', async () => {
    const lock = await locks.acquire(key);
    expect(await locks.tryAcquire(key)).toBeNull();
    await lock.release();
    const again = await locks.tryAcquire(key);
    expect(again).not.toBeNull();
    await again?.release();
  });

  it('release is idempotent and true only for the call that released', async () => {
    const lock = await locks.acquire(key);
    const results = await Promise.all([lock.release(), lock.release(), lock.release()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await lock.release()).toBe(false);
  });

  it('expires after ttl when not renewed, and lets the next holder in', async () => {
    const lock = await locks.acquire(key, { ttl: 150, autoExtend: false });
    await sleep(400);
    expect(await locks.isLocked(key)).toBe(false);
    const next = await locks.acquire(key, { waitTimeout: 0 });
    await next.release();
    await lock.release();
  });

  it('rejects release and extend by a former owner once another holds the lock', async () => {
    const stale = await locks.acquire(key, { ttl: 100, autoExtend: false });
    await sleep(250);
    const owner = await locks.acquire(key, { waitTimeout: 0 });
    expect(await stale.extend(5000)).toBe(false);
    expect(stale.signal.aborted).toBe(true);
    expect(await stale.release()).toBe(false);
    expect(await locks.isLocked(key)).toBe(true);
    expect(await owner.release()).toBe(true);
  });

  it('extends a held lock by its owner', async () => {
    const lock = await locks.acquire(key, { ttl: 200, autoExtend: false });
    expect(await lock.extend(1000)).toBe(true);
    await sleep(400);
    expect(await locks.isLocked(key)).toBe(true);
    await lock.release();
  });

  it('keeps a lock through work lasting three times its ttl by renewing it', async () => {
    const lock = await locks.acquire(key, { ttl: 200 });
    await sleep(600);
    expect(lock.signal.aborted).toBe(false);
    expect(await locks.tryAcquire(key)).toBeNull();
    expect(await lock.release()).toBe(true);
  });

  it('fencing tokens strictly increase for a key', async () => {
    let last = 0;
    for (let i = 0; i < 20; i++) {
      const lock = await locks.acquire(key);
      expect(lock.fencingToken).toBeGreaterThan(last);
      last = lock.fencingToken;
      await lock.release();
    }
  });

  it('using returns the result and releases on success', async () => {
    const result = await locks.using(key, async (lock: Lock) => {
      expect(await locks.isLocked(key)).toBe(true);
      return lock.fencingToken * 0 + 42;
    });
    expect(result).toBe(42);
    expect(await locks.isLocked(key)).toBe(false);
  });

  it('using releases when fn throws and rethrows fn’s own error', async () => {
    const boom = new Error('boom');
    await expect(
      locks.using(key, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await locks.isLocked(key)).toBe(false);
  });

  it('using does not run fn when the lock is held', async () => {
    const lock = await locks.acquire(key);
    const fn = jest.fn();
    await expect(locks.using(key, fn, { waitTimeout: 0 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    expect(fn).not.toHaveBeenCalled();
    await lock.release();
  });

  it('gives up waiting when the caller aborts, holding nothing', async () => {
    const lock = await locks.acquire(key);
    const controller = new AbortController();
    const reason = new Error('client went away');
    const waiting = locks.acquire(key, { waitTimeout: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(waiting).rejects.toBe(reason);
    await lock.release();
    expect(await locks.isLocked(key)).toBe(false);
  });

  it('takes several keys all or none', async () => {
    const b = await locks.acquire(`${key}:b`);
    await expect(
      locks.acquire([`${key}:a`, `${key}:b`, `${key}:c`], { waitTimeout: 0 }),
    ).rejects.toBeInstanceOf(LockNotAcquiredError);
    expect(await locks.isLocked(`${key}:a`)).toBe(false);
    expect(await locks.isLocked(`${key}:c`)).toBe(false);
    await b.release();

    const all = await locks.acquire([`${key}:c`, `${key}:a`, `${key}:c`]);
    expect(all.keys).toEqual([`${key}:c`, `${key}:a`]);
    expect(await locks.isLocked(`${key}:a`)).toBe(true);
    expect(await locks.isLocked(`${key}:c`)).toBe(true);
    expect(await all.release()).toBe(true);
    expect(await locks.isLocked(`${key}:a`)).toBe(false);
  });

  it('two callers taking overlapping key sets in opposite order do not deadlock', async () => {
    const keys = [`${key}:x`, `${key}:y`];
    const run = (order: string[]) =>
      Promise.all(
        Array.from({ length: 10 }, () =>
          locks.using(order, () => sleep(1), { waitTimeout: 10_000 }),
        ),
      );
    await Promise.all([run(keys), run([...keys].reverse())]);
    expect(await locks.isLocked(keys[0])).toBe(false);
  });

  it('rejects bad input with an error naming what was wrong, locking nothing', async () => {
    await expect(locks.acquire('')).rejects.toThrow(/key is empty/);
    await expect(locks.acquire(undefined as unknown as string)).rejects.toThrow(/non-empty string/);
    await expect(locks.acquire(key, { ttl: -5 })).rejects.toThrow(/`ttl`/);
    await expect(locks.acquire(key, { ttl: 1.5 })).rejects.toThrow(/`ttl`/);
    await expect(locks.acquire(key, { waitTimeout: Number.NaN })).rejects.toThrow(/`waitTimeout`/);
    await expect(locks.acquire(key, { autoExtend: 'yes' as unknown as boolean })).rejects.toThrow(
      /`autoExtend`/,
    );
    await expect(locks.acquire([])).rejects.toThrow(/key list is empty/);
    expect(await locks.isLocked(key)).toBe(false);
  });

  it('stops renewing after release: no timer outlives the lock', async () => {
    const lock = await locks.acquire(key, { ttl: 60 });
    await lock.release();
    const next = await locks.acquire(key, { ttl: 5000, autoExtend: false });
    await sleep(200);
    // A stray renewal of the first lock would have failed the owner check and done nothing,
    // but it would also keep this key's lock alive for a different owner: check the owner.
    expect(await next.release()).toBe(true);
  });

  it('a lock held by one service is not visible to a service of another store', async () => {
    other = new LockService();
    const lock = await locks.acquire(key);
    const theirs = await other.tryAcquire(key);
    expect(theirs).not.toBeNull();
    await theirs?.release();
    await lock.release();
  });
});

describe('LockService on Redis only', () => {
  let locks: LockService;

  beforeEach(() => {
    locks = new LockService({ redis: fixture.server.url, keyPrefix: 'it:' });
  });

  afterEach(async () => {
    await locks.onApplicationShutdown();
  });

  it('wakes the first waiter when the holder’s lease ends, not at its next re-check', async () => {
    const url = fixture.server.url;
    const holder = new LockService({ redis: url, keyPrefix: 'abandoned:' });
    const patient = new LockService({
      redis: url,
      keyPrefix: 'abandoned:',
      recheckInterval: 60_000,
    });
    try {
      // A holder that stops renewing, as one that died would.
      const stale = await holder.acquire('job', { ttl: 300, autoExtend: false });
      const next = await patient.acquire('job', { waitTimeout: 10_000 });
      expect(next.fencingToken).toBeGreaterThan(stale.fencingToken);
      expect(await next.release()).toBe(true);
    } finally {
      await holder.close();
      await patient.close();
    }
  });

  it('a holder handed the lock keeps it past the hand-over’s short lease', async () => {
    // Waiter leases are 3 × 100 ms here, so a hand-over lasts at most 300 ms until topped up.
    const quick = new LockService({
      redis: fixture.server.url,
      keyPrefix: 'topup:',
      recheckInterval: 100,
    });
    try {
      const first = await quick.acquire('topup');
      const waiting = quick.acquire('topup', { ttl: 5_000, autoExtend: false, waitTimeout: 5_000 });
      await waitUntil(
        async () => (await fixture.redis.zcard('topup:{topup}:queue')) === 1,
        'queued',
      );
      await first.release();
      const second = await waiting;
      await sleep(800);
      expect(second.signal.aborted).toBe(false);
      expect(await fixture.redis.get('topup:{topup}')).toBe(second.token);
      expect(await second.release()).toBe(true);
    } finally {
      await quick.close();
    }
  });

  describe('hand-overs at the store', () => {
    let store: RedisLockStore;
    const resource = lockResource('handover:', '', 'job', 'x');

    beforeEach(() => {
      store = new RedisLockStore(new Redis(fixture.server.url), true, 1_000);
    });

    afterEach(async () => {
      await store.close();
    });

    it('a waiter that missed the hand-over message gets the lock at its next look', async () => {
      expect(await store.acquireFast(resource, 'holder', 10_000)).toEqual(expect.any(Number));
      expect(await store.acquire(resource, 'waiter', 20_000, 3_000)).toEqual({
        retryInMs: expect.any(Number),
      });
      // Handed over while nobody listens for 'waiter'.
      expect(await store.release(resource, 'holder', false)).toBe(true);
      expect(await fixture.redis.get(resource.id)).toBe('waiter');
      const fence = await store.acquire(resource, 'waiter', 20_000, 3_000);
      expect(fence).toEqual(expect.any(Number));
      // Now that it showed up, its full lease, not just the hand-over's.
      expect(await fixture.redis.pttl(resource.id)).toBeGreaterThan(3_000);
      expect(await store.release(resource, 'waiter', false)).toBe(true);
    });

    it('a waiter that gives up after being handed the lock passes it on to the next', async () => {
      await store.acquireFast(resource, 'holder', 10_000);
      await store.acquire(resource, 'quitter', 10_000, 3_000);
      await store.acquire(resource, 'next', 10_000, 3_000);
      await store.release(resource, 'holder', false);
      // The holder's token, marked as having waiters while 'next' waits.
      expect(await fixture.redis.get(resource.id)).toMatch(/^quitter\b/);
      await store.leave(resource, 'quitter');
      expect(await fixture.redis.get(resource.id)).toBe('next');
      expect(await store.release(resource, 'next', true)).toBe(true);
      expect(await fixture.redis.exists(resource.id)).toBe(0);
    });
  });

  it('keeps every key of a lock in one hash slot', async () => {
    const lock = await locks.acquire('order:7');
    const keys = (await fixture.redis.keys('it:*')).sort();
    expect(keys).toEqual([fenceKeyOf('order:7', 'it:'), 'it:{order:7}'].sort());
    // Redis Cluster hashes only the text between the first '{' and the next '}': the lock and
    // its slot's fencing counter hash to the same slot.
    const hashTag = (k: string) => k.slice(k.indexOf('{') + 1, k.indexOf('}', k.indexOf('{')));
    expect(new Set(keys.map((k) => slotOf(hashTag(k))))).toEqual(new Set([slotOf('order:7')]));
    await lock.release();
  });

  it('aborts the holder’s signal when its key is deleted under it', async () => {
    const lock = await locks.acquire('victim', { ttl: 300 });
    await fixture.redis.del('it:{victim}');
    const reason = await aborted(lock.signal);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(locks.heldCount).toBe(0);
    expect(await lock.release()).toBe(false);
  });

  it('aborts the holder’s signal when another owner took the key', async () => {
    const lock = await locks.acquire('stolen', { ttl: 300 });
    await fixture.redis.set('it:{stolen}', 'someone-else', 'PX', 10_000);
    expect(await aborted(lock.signal)).toBeInstanceOf(LockLostError);
    expect(await fixture.redis.get('it:{stolen}')).toBe('someone-else');
    await lock.release();
    expect(await fixture.redis.get('it:{stolen}')).toBe('someone-else');
  });

  it('a stale counter (a failover to a replica that missed increments) still gives a higher token', async () => {
    const first = await locks.acquire('stale-fence');
    const stale = await fixture.redis.get(fenceKeyOf('stale-fence', 'it:'));
    const second = await locks.acquire('stale-fence', { waitTimeout: 0 }).catch(() => null);
    expect(second).toBeNull();
    await first.release();
    const next = await locks.acquire('stale-fence');
    await next.release();
    await fixture.redis.set(fenceKeyOf('stale-fence', 'it:'), stale!);
    const afterRollback = await locks.acquire('stale-fence');
    expect(afterRollback.fencingToken).toBeGreaterThan(next.fencingToken);
    await afterRollback.release();
  });

  it('keeps one counter per slot, and a lost counter starts again above every earlier token', async () => {
    const first = await locks.acquire('fenced');
    await first.release();
    expect(await fixture.redis.pttl(fenceKeyOf('fenced', 'it:'))).toBe(-1);
    const second = await locks.acquire('fenced');
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
    await fixture.redis.del(fenceKeyOf('fenced', 'it:')); // as after a restart without persistence
    const third = await locks.acquire('fenced');
    expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
    expect(Number.isSafeInteger(third.fencingToken)).toBe(true);
    await third.release();
  });

  it('runs scripts again after the server forgot them (SCRIPT FLUSH)', async () => {
    await fixture.redis.script('FLUSH');
    const lock = await locks.acquire('flushed');
    await fixture.redis.script('FLUSH');
    expect(await lock.release()).toBe(true);
  });
});

describe('LockService when Redis is unreachable', () => {
  it('fails closed: acquire rejects with a 503 error and using never runs fn', async () => {
    const own = await startRedisServer();
    const locks = new LockService({ redis: own.url });
    const warm = await locks.acquire('warm');
    await warm.release();
    await own.stop();
    await sleep(100);
    const fn = jest.fn();
    const error = await locks.using('k', fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockStoreUnavailableError);
    expect((error as LockStoreUnavailableError).getStatus()).toBe(503);
    expect(fn).not.toHaveBeenCalled();
    await expect(locks.tryAcquire('k')).rejects.toBeInstanceOf(LockStoreUnavailableError);
    await locks.onApplicationShutdown();
  });

  it('using keeps fn’s error when the release fails too', async () => {
    const own = await startRedisServer();
    const locks = new LockService({ redis: own.url });
    const boom = new Error('work failed');
    await expect(
      locks.using('k', async () => {
        await own.stop();
        throw boom;
      }),
    ).rejects.toBe(boom);
    await locks.onApplicationShutdown();
  });

  it('using returns fn’s result when only the release fails (the lease ends the lock)', async () => {
    const own = await startRedisServer();
    const locks = new LockService({ redis: own.url });
    const result = await locks.using('k', async () => {
      await own.stop();
      return 'done';
    });
    expect(result).toBe('done');
    await locks.onApplicationShutdown();
  });

  it('aborts the signal when renewals fail until the lease ends', async () => {
    const own = await startRedisServer();
    const locks = new LockService({ redis: own.url });
    const lock = await locks.acquire('k', { ttl: 300 });
    await own.stop();
    expect(await aborted(lock.signal)).toBeInstanceOf(LockLostError);
    expect(locks.heldCount).toBe(0);
    await lock.release().catch(() => undefined);
    await locks.onApplicationShutdown();
  });
});
