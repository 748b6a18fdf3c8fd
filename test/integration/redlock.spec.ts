import { Test } from '@nestjs/testing';
import {
  DistributedLockModule,
  LockLostError,
  LockNotAcquiredError,
  LockService,
  LockStoreUnavailableError,
} from '../../lib';
import { lockResource } from '../../lib/stores/lock-resource';
import { createRedlockStore } from '../../lib/stores/redlock/create-redlock-store';
import { RedisMasters, startRedisMasters } from '../support/redis-masters';

const L = (key: string): string => `lock:{${key}}`;
const fenceKey = (key: string): string => lockResource('lock:', '', key, 'x').fastKeys[1];

async function keysOn(cluster: RedisMasters, key: string): Promise<number[]> {
  return Promise.all(cluster.masters.map((m) => m.direct.exists(L(key))));
}

async function until(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Redlock across five independent masters (real redis-servers)', () => {
  let cluster: RedisMasters;
  let locks: LockService;

  beforeAll(async () => {
    cluster = await startRedisMasters(5, { proxies: true });
  });
  afterAll(async () => {
    await cluster?.close();
  });
  beforeEach(async () => {
    for (const m of cluster.masters) {
      if (!m.running) m.resume();
      m.proxy?.delay(0);
      await m.direct.flushall();
    }
    locks = new LockService({
      redlock: { masters: cluster.urls },
      evictionPolicy: 'ignore',
      ttl: 2000,
    });
  });
  afterEach(async () => {
    for (const m of cluster.masters) if (!m.running) m.resume();
    await locks.close();
  });

  describe('configuration', () => {
    const bootError = (options: object): string => {
      try {
        new LockService(options);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };

    it('refuses `redis` and `redlock` together at boot', async () => {
      await expect(
        Test.createTestingModule({
          imports: [
            DistributedLockModule.forRoot({
              redis: 'redis://127.0.0.1:1',
              redlock: { masters: cluster.urls },
            }),
          ],
        }).compile(),
      ).rejects.toThrow(/`redis` and `redlock` are mutually exclusive/);
    });

    it('refuses fewer than three masters, a repeated one, a bad URL and a misspelt option', () => {
      expect(bootError({ redlock: { masters: cluster.urls.slice(0, 2) } })).toMatch(
        /needs at least 3 independent masters .*got 2\./,
      );
      expect(bootError({ redlock: { masters: [cluster.urls[0], ...cluster.urls] } })).toMatch(
        /`masters\[1\]` repeats an earlier master/,
      );
      expect(
        bootError({ redlock: { masters: [...cluster.urls.slice(0, 2), 'http://x'] } }),
      ).toMatch(
        /option `redlock` `masters\[2\]` must be a redis:\/\/.*http:\/\/ scheme is not a Redis URL/,
      );
      expect(bootError({ redlock: { masters: cluster.urls, driftFactr: 0.1 } })).toMatch(
        /`driftFactr`: did you mean `driftFactor`\?/,
      );
      expect(bootError({ redlock: { masters: cluster.urls, driftFactor: 2 } })).toMatch(
        /`driftFactor` must be a number from 0 to 0\.5, got 2/,
      );
      expect(bootError({ redlock: { masters: cluster.urls }, syncReplicas: 1 })).toMatch(
        /`syncReplicas` applies to one Redis/,
      );
    });

    it('refuses read locks, semaphores and idempotency claims, naming the mode and the store', async () => {
      await expect(locks.acquire('modes', { mode: 'read' })).rejects.toThrow(
        /Read locks are not supported by the Redlock store/,
      );
      await expect(locks.semaphore('modes', 2).acquire()).rejects.toThrow(
        /Semaphores are not supported by the Redlock store/,
      );
      const store = createRedlockStore({ masters: cluster.urls }, 1000);
      await expect(store.claim()).rejects.toThrow(
        /Idempotency claims are not supported by the Redlock store/,
      );
      await store.close();
      // A write lock is an exclusive lock: with no read locks, there is nothing else to exclude.
      const write = await locks.acquire('modes', { mode: 'write' });
      await write.release();
      expect(await keysOn(cluster, 'modes')).toEqual([0, 0, 0, 0, 0]);
    });
  });

  it('takes the key on every master, with one fencing token, and releases it on every master', async () => {
    const lock = await locks.acquire('basic');
    expect(await keysOn(cluster, 'basic')).toEqual([1, 1, 1, 1, 1]);
    const values = await Promise.all(cluster.masters.map((m) => m.direct.get(L('basic'))));
    expect(new Set(values)).toEqual(new Set([lock.token]));
    // The token was written back: a majority's counter is at least the token.
    const counters = await Promise.all(
      cluster.masters.map((m) => m.direct.get(fenceKey('basic')).then(Number)),
    );
    expect(counters.filter((c) => c >= lock.fencingToken).length).toBeGreaterThanOrEqual(3);
    expect(await locks.isLocked('basic')).toBe(true);
    expect(await locks.tryAcquire('basic')).toBeNull();
    await lock.release();
    expect(await keysOn(cluster, 'basic')).toEqual([0, 0, 0, 0, 0]);
    expect(await locks.isLocked('basic')).toBe(false);
  });

  it('is granted by a majority with two masters stopped', async () => {
    cluster.masters[0].pause();
    cluster.masters[3].pause();
    const lock = await locks.acquire('two-down', { ttl: 1000 });
    expect(lock.isHeld()).toBe(true);
    const live = [1, 2, 4].map((i) => cluster.masters[i].direct.exists(L('two-down')));
    expect(await Promise.all(live)).toEqual([1, 1, 1]);
    await lock.release();
  });

  it('fails closed with 503 when three of five masters are stopped, and runs nothing', async () => {
    for (const i of [1, 2, 4]) cluster.masters[i].pause();
    let ran = false;
    const err = await locks
      .using('three-down', () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockStoreUnavailableError);
    expect((err as LockStoreUnavailableError).getStatus()).toBe(503);
    expect(ran).toBe(false);
    // Whatever it got on the two live masters was given back.
    await until(async () => (await cluster.masters[0].direct.exists(L('three-down'))) === 0);
    expect(await cluster.masters[3].direct.exists(L('three-down'))).toBe(0);
  });

  it('answers 409 (not 503) when a majority says the lock is held', async () => {
    const held = await locks.acquire('held');
    const err = await locks.acquire('held', { waitTimeout: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockNotAcquiredError);
    await held.release();
  });

  it('a waiter retries after random delays and gets the lock soon after it is released', async () => {
    const held = await locks.acquire('waiting');
    const waiting = locks.acquire('waiting', { waitTimeout: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    const releasedAt = Date.now();
    await held.release();
    const next = await waiting;
    // The default jitter is 50 ms: the next try comes within it.
    expect(Date.now() - releasedAt).toBeLessThan(300);
    expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
    await next.release();
  });

  it('a wait honours its abort signal', async () => {
    const held = await locks.acquire('abortable');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('gave up')), 100);
    await expect(
      locks.acquire('abortable', { waitTimeout: 5000, signal: controller.signal }),
    ).rejects.toThrow('gave up');
    await held.release();
  });

  it('a retry treats a key that holds its own token as granted on that master', async () => {
    const store = createRedlockStore({ masters: cluster.urls }, 1000);
    try {
      const resource = lockResource('lock:', '', 'own', 'x');
      // A first attempt's grants whose replies were lost, on three masters.
      for (const i of [0, 1, 2]) {
        await cluster.masters[i].direct.set(L('own'), 'mine', 'PX', 5000);
      }
      expect(await store.acquireFast(resource, 'other', 1000)).toBeNull();
      const fence = await store.acquireFast(resource, 'mine', 1000);
      expect(typeof fence).toBe('number');
      expect(await cluster.masters[0].direct.pttl(L('own'))).toBeLessThanOrEqual(1000);
      expect(await store.release(resource, 'mine', false)).toBe(true);
      expect(await keysOn(cluster, 'own')).toEqual([0, 0, 0, 0, 0]);
    } finally {
      await store.close();
    }
  });

  it('releases on every master, the one that did not answer in time included', async () => {
    const slow = cluster.masters[2];
    const store = createRedlockStore({ masters: cluster.urls, masterTimeout: 100 }, 1000);
    try {
      const resource = lockResource('lock:', '', 'slow', 'x');
      slow.proxy?.delay(300);
      const fence = await store.acquireFast(resource, 'tok', 3000);
      expect(typeof fence).toBe('number');
      // The slow master gets the key late, then the release behind it.
      await until(async () => (await slow.direct.exists(L('slow'))) === 1);
      expect(await store.release(resource, 'tok', false)).toBe(true);
      await until(async () => (await keysOn(cluster, 'slow')).every((k) => k === 0));

      // A failed attempt (three masters too slow) gives back what the slow ones granted late.
      for (const i of [0, 1, 2]) cluster.masters[i].proxy?.delay(300);
      await expect(store.acquireFast(resource, 'tok2', 3000)).rejects.toBeInstanceOf(
        LockStoreUnavailableError,
      );
      await new Promise((r) => setTimeout(r, 900));
      expect(await keysOn(cluster, 'slow')).toEqual([0, 0, 0, 0, 0]);
    } finally {
      for (const m of cluster.masters) m.proxy?.delay(0);
      await store.close();
    }
  });

  it('counts the time the masters took: a shorter validity, or no lock when it ate the lease', async () => {
    const slowLocks = new LockService({
      redlock: { masters: cluster.urls, masterTimeout: 1000 },
      evictionPolicy: 'ignore',
    });
    try {
      // Three masters 60 ms away each way: the majority needs one of them.
      for (const i of [0, 1, 2]) cluster.masters[i].proxy?.delay(60);
      const before = Date.now();
      const lock = await slowLocks.acquire('validity', { ttl: 1000, autoExtend: false });
      const elapsed = Date.now() - before;
      expect(elapsed).toBeGreaterThanOrEqual(100);
      // Valid until start + ttl − drift: what is left is the lease less the time taken.
      expect(lock.validUntil - Date.now()).toBeLessThanOrEqual(1000 - elapsed + 20);
      await lock.release();

      // 150 ms each way, twice (grant and fencing rounds) plus drift, is more than a 300 ms lease.
      for (const i of [0, 1, 2]) cluster.masters[i].proxy?.delay(150);
      const err = await slowLocks
        .acquire('validity-eaten', { ttl: 300, waitTimeout: 0 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockStoreUnavailableError);
      for (const m of cluster.masters) m.proxy?.delay(0);
      await until(async () => (await keysOn(cluster, 'validity-eaten')).every((k) => k === 0));
    } finally {
      for (const m of cluster.masters) m.proxy?.delay(0);
      await slowLocks.close();
    }
  });

  it('keeps a lock whose renewals a majority confirms, with one master stopped', async () => {
    cluster.masters[4].pause();
    const lock = await locks.acquire('renewed', { ttl: 1_000 });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(lock.isHeld()).toBe(true);
    await lock.release();
  });

  it('loses a lock whose renewals no majority confirms, by its deadline: its signal aborts', async () => {
    // Long enough that each master's timeout (a twentieth of the lease) survives a loaded machine.
    const lock = await locks.acquire('lost', { ttl: 2_000 });
    for (const i of [0, 2, 3]) cluster.masters[i].pause();
    const at = await new Promise<number>((resolve) =>
      lock.signal.addEventListener('abort', () => resolve(Date.now())),
    );
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(at).toBeLessThanOrEqual(lock.validUntil + 250);
    expect(lock.isHeld()).toBe(false);
  });

  it('fencing tokens increase when the granting majorities differ (the written-back token)', async () => {
    // Master 0's counter is far ahead of every clock: a token drawn there is the largest.
    await cluster.masters[0].direct.set(fenceKey('fence'), String(9e15));
    cluster.masters[3].pause();
    cluster.masters[4].pause();
    const first = await locks.acquire('fence');
    expect(first.fencingToken).toBeGreaterThan(9e15);
    await first.release();
    cluster.masters[3].resume();
    cluster.masters[4].resume();
    // Now a majority without master 0: {2, 3, 4} (master 1 stopped too). Master 2 holds the
    // written-back token, so the next one is higher; a per-master max would give a clock value.
    cluster.masters[0].pause();
    cluster.masters[1].pause();
    const second = await locks.acquire('fence');
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });
});
