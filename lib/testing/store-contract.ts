import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  IDEMPOTENCY_NAMESPACE,
  LOCK_NAMESPACE,
  SEMAPHORE_NAMESPACE,
} from '../distributed-lock.constants';
import { lockResource, type HoldMode, type LockResource } from '../stores/lock-resource';
import type { AcquireMiss, LockStore } from '../stores/lock-store.interface';

/** What `runLockStoreContract` needs from the test runner: Jest's or Vitest's globals. */
interface TestGlobals {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): void;
  beforeEach(fn: () => Promise<void>): void;
  afterEach(fn: () => Promise<void>): void;
}

/** A store under test, and how to free it (and whatever it runs on) afterwards. */
export interface LockStoreFixture {
  readonly store: LockStore;
  close(): Promise<void>;
}

/** What a store supports beyond exclusive locks; the suite checks the rest is refused. */
export interface LockStoreContractOptions {
  /** Read locks (mode `'r'`) beside write locks. Default: true. */
  readonly readWrite?: boolean;
  /** Semaphores (mode `'s'`). Default: true. */
  readonly semaphore?: boolean;
  /** Idempotency claims (`claim`, `complete`). Default: true. */
  readonly idempotency?: boolean;
  /** Lease of the short-lived locks the suite lets expire, in ms. Default: 200. */
  readonly shortTtlMs?: number;
  /** Timeout of one test, in ms. Default: 20000. */
  readonly timeoutMs?: number;
}

const TTL = 10_000;
const WAITER_LEASE = 5_000;

/**
 * The behaviour every `LockStore` must have, as a test suite: atomic acquire, owner-checked
 * release and extend, retries by the owner, fencing tokens that strictly increase, leases that
 * end, a fair line with wake-ups, `leave`, read/write and semaphore modes, idempotency claims,
 * `isLocked`, `health` and `close`. Call it at the top level of a test file; it needs the
 * `describe`, `it`, `beforeEach` and `afterEach` globals of Jest or Vitest (with Vitest, turn
 * on `globals`), and asserts with `node:assert`. `makeStore` is called before each test, and
 * the fixture's `close` after it; keys are unique per test, so stores may share a database.
 */
export function runLockStoreContract(
  name: string,
  makeStore: () => Promise<LockStoreFixture>,
  options: LockStoreContractOptions = {},
): void {
  const g = globalThis as unknown as Partial<TestGlobals>;
  if (!g.describe || !g.it || !g.beforeEach || !g.afterEach) {
    throw new Error(
      'runLockStoreContract needs the describe/it/beforeEach/afterEach globals of Jest or ' +
        'Vitest (with Vitest, set `test.globals: true`).',
    );
  }
  const { describe, beforeEach, afterEach } = g as TestGlobals;
  const timeout = options.timeoutMs ?? 20_000;
  const it = (title: string, fn: () => Promise<void>): void => g.it!(title, fn, timeout);
  const shortTtl = options.shortTtlMs ?? 200;

  describe(`LockStore contract: ${name}`, () => {
    let fixture: LockStoreFixture | undefined;
    let run = '';
    const store = (): LockStore => {
      if (!fixture) throw new Error('the store fixture was not created');
      return fixture.store;
    };
    const lock = (key: string, mode: HoldMode = 'x'): LockResource =>
      lockResource('contract:', LOCK_NAMESPACE, `${run}:${key}`, mode);
    const sem = (key: string, permits: number): LockResource =>
      lockResource('contract:', SEMAPHORE_NAMESPACE, `${run}:${key}`, 's', permits);
    const idem = (key: string): LockResource =>
      lockResource('contract:', IDEMPOTENCY_NAMESPACE, `${run}:${key}`, 'x');
    const token = (): string => randomUUID().replace(/-/g, '');

    beforeEach(async () => {
      run = randomUUID();
      fixture = await makeStore();
    });
    afterEach(async () => {
      const current = fixture;
      fixture = undefined;
      await current?.close();
    });

    it('lets exactly one of many concurrent acquires of a key win', async () => {
      const r = lock('race');
      const tokens = Array.from({ length: 12 }, token);
      const results = await Promise.all(
        tokens.map((t, i) =>
          i % 2 === 0 ? store().acquireFast(r, t, TTL) : store().acquire(r, t, TTL, 0),
        ),
      );
      const winners = results.filter((x) => typeof x === 'number');
      assert.equal(winners.length, 1, `${winners.length} winners`);
    });

    it('answers a miss while the lock is held', async () => {
      const r = lock('miss');
      assert.equal(typeof (await store().acquireFast(r, token(), TTL)), 'number');
      assert.equal(await store().acquireFast(r, token(), TTL), null);
      const miss = (await store().acquire(r, token(), TTL, 0)) as AcquireMiss;
      assert.equal(typeof miss.retryInMs, 'number');
    });

    it('rejects a release or an extend by a non-owner, changing nothing', async () => {
      const r = lock('owner');
      const owner = token();
      await store().acquireFast(r, owner, TTL);
      assert.equal(await store().release(r, token(), false), false);
      assert.equal(await store().extend(r, token(), TTL), false);
      assert.equal(await store().isLocked(r), true);
      assert.equal(await store().acquireFast(r, token(), TTL), null);
      assert.equal(await store().release(r, owner, false), true);
      assert.equal(await store().release(r, owner, false), false, 'a repeated release');
      assert.equal(await store().isLocked(r), false);
    });

    it('lets the owner retry an acquire (a lost reply) with a new, higher fencing token', async () => {
      const r = lock('retry');
      const owner = token();
      const first = (await store().acquireFast(r, owner, TTL)) as number;
      const again = await store().acquire(r, owner, TTL, WAITER_LEASE);
      assert.equal(typeof again, 'number');
      assert.ok((again as number) > first);
      const fast = await store().acquireFast(r, owner, TTL);
      // acquireFast may also answer null for the owner, as long as acquire then succeeds.
      if (fast === null) assert.equal(typeof (await store().acquire(r, owner, TTL, 0)), 'number');
      else assert.ok(fast > (again as number));
      assert.equal(await store().release(r, owner, false), true);
    });

    it('gives fencing tokens that strictly increase per key across holders', async () => {
      const r = lock('fence');
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const t = token();
        const fence = (
          i % 2 ? await store().acquireFast(r, t, TTL) : await store().acquire(r, t, TTL, 0)
        ) as number;
        assert.equal(typeof fence, 'number');
        assert.ok(Number.isSafeInteger(fence) && fence > last, `${fence} after ${last}`);
        last = fence;
        await store().release(r, t, false);
      }
      // After a lease that ended, too.
      await store().acquireFast(r, token(), shortTtl);
      await sleep(shortTtl * 2);
      const next = (await store().acquireFast(r, token(), TTL)) as number;
      assert.ok(next > last + 0, `${next} after an expired lease`);
    });

    it('frees a lock that is not renewed at the end of its lease', async () => {
      const r = lock('lease');
      const first = token();
      await store().acquireFast(r, first, shortTtl);
      await sleep(shortTtl * 2);
      assert.equal(await store().isLocked(r), false);
      assert.equal(await store().extend(r, first, TTL), false, 'an extend after the lease');
      assert.equal(typeof (await store().acquireFast(r, token(), TTL)), 'number');
      assert.equal(await store().release(r, first, false), false, 'the old owner releases');
      assert.equal(await store().isLocked(r), true);
    });

    it('moves the lease on extend', async () => {
      const r = lock('extend');
      const owner = token();
      await store().acquireFast(r, owner, shortTtl * 2);
      await sleep(shortTtl);
      assert.equal(await store().extend(r, owner, TTL), true);
      await sleep(shortTtl * 2);
      assert.equal(await store().isLocked(r), true);
      assert.equal(await store().acquireFast(r, token(), TTL), null);
      assert.equal(await store().release(r, owner, false), true);
    });

    it('serves waiters first come, first served, and lets no newcomer barge', async () => {
      const r = lock('fifo');
      const [a, b, c] = [token(), token(), token()];
      await store().acquireFast(r, a, TTL);
      assert.equal(typeof (await store().acquire(r, b, TTL, WAITER_LEASE)), 'object');
      assert.equal(typeof (await store().acquire(r, c, TTL, WAITER_LEASE)), 'object');
      assert.equal(await store().release(r, a, false), true);
      assert.equal(typeof (await store().acquire(r, c, TTL, WAITER_LEASE)), 'object', 'c before b');
      assert.equal(await store().acquireFast(r, token(), TTL), null, 'a newcomer barges');
      assert.equal(typeof (await store().acquire(r, token(), TTL, 0)), 'object');
      assert.equal(typeof (await store().acquire(r, b, TTL, WAITER_LEASE)), 'number');
      assert.equal(await store().release(r, b, true), true);
      assert.equal(typeof (await store().acquire(r, c, TTL, WAITER_LEASE)), 'number');
      assert.equal(await store().release(r, c, true), true);
      assert.equal(typeof (await store().acquireFast(r, token(), TTL)), 'number');
    });

    it('tells the first in line how long the holder has left', async () => {
      const r = lock('hint');
      await store().acquireFast(r, token(), TTL);
      const miss = (await store().acquire(r, token(), TTL, WAITER_LEASE)) as AcquireMiss;
      assert.ok(miss.retryInMs > 0 && miss.retryInMs <= TTL, `retryInMs ${miss.retryInMs}`);
    });

    it('wakes the next in line on release', async () => {
      const r = lock('wake');
      const [a, b] = [token(), token()];
      await store().acquireFast(r, a, TTL);
      const waiter = store().addWaiter(r, b);
      try {
        await store().listen(waiter);
        assert.equal(typeof (await store().acquire(r, b, TTL, WAITER_LEASE)), 'object');
        const woken = waiter.wait(5_000, undefined);
        const started = Date.now();
        await store().release(r, a, false);
        await woken;
        assert.ok(Date.now() - started < 2_500, `woken after ${Date.now() - started} ms`);
        assert.equal(typeof (await store().acquire(r, b, TTL, WAITER_LEASE)), 'number');
      } finally {
        store().removeWaiter(waiter);
      }
      assert.equal(await store().release(r, b, true), true);
    });

    it('takes a waiter that leaves out of line, and gives back a hold it got meanwhile', async () => {
      const r = lock('leave');
      const [a, b, c] = [token(), token(), token()];
      await store().acquireFast(r, a, TTL);
      await store().acquire(r, b, TTL, WAITER_LEASE);
      await store().acquire(r, c, TTL, WAITER_LEASE);
      await store().leave(r, b);
      await store().release(r, a, false);
      assert.equal(typeof (await store().acquire(r, c, TTL, WAITER_LEASE)), 'number');
      const d = token();
      await store().acquire(r, d, TTL, WAITER_LEASE);
      await store().release(r, c, true);
      // d may have been handed the lock without knowing: leaving gives it back.
      await store().leave(r, d);
      await store().leave(r, d);
      assert.equal(await store().isLocked(r), false);
      assert.equal(typeof (await store().acquireFast(r, token(), TTL)), 'number');
    });

    it('lets a waiter whose place lapsed drop out of line', async () => {
      const r = lock('lapse');
      const [a, b, c] = [token(), token(), token()];
      await store().acquireFast(r, a, TTL);
      await store().acquire(r, b, TTL, shortTtl);
      await store().acquire(r, c, TTL, WAITER_LEASE);
      await store().release(r, a, false);
      await sleep(shortTtl * 2);
      // b never came back (and may have been handed the lock for its lapsed place only).
      assert.equal(typeof (await store().acquire(r, c, TTL, WAITER_LEASE)), 'number');
    });

    if (options.readWrite ?? true) {
      it('shares read locks, and keeps writers and readers apart', async () => {
        const [r1, r2, w] = [token(), token(), token()];
        assert.equal(typeof (await store().acquire(lock('rw', 'r'), r1, TTL, 0)), 'number');
        assert.equal(typeof (await store().acquire(lock('rw', 'r'), r2, TTL, 0)), 'number');
        assert.equal(await store().acquireFast(lock('rw'), w, TTL), null);
        assert.equal(await store().isLocked(lock('rw')), true);
        await store().release(lock('rw', 'r'), r1, false);
        await store().release(lock('rw', 'r'), r2, false);
        assert.equal(typeof (await store().acquire(lock('rw'), w, TTL, 0)), 'number');
        assert.equal(typeof (await store().acquire(lock('rw', 'r'), token(), TTL, 0)), 'object');
        assert.equal(await store().release(lock('rw'), w, false), true);
      });
    } else {
      it('refuses read locks with a TypeError', async () => {
        await assert.rejects(store().acquire(lock('rw', 'r'), token(), TTL, 0), TypeError);
      });
    }

    if (options.semaphore ?? true) {
      it('gives at most its permits of a semaphore, and checks the permit count', async () => {
        const [a, b, c] = [token(), token(), token()];
        assert.equal(typeof (await store().acquire(sem('s', 2), a, TTL, 0)), 'number');
        assert.equal(typeof (await store().acquire(sem('s', 2), b, TTL, 0)), 'number');
        assert.equal(typeof (await store().acquire(sem('s', 2), c, TTL, WAITER_LEASE)), 'object');
        await assert.rejects(store().acquire(sem('s', 3), token(), TTL, 0), TypeError);
        assert.equal(await store().release(sem('s', 2), a, false), true);
        assert.equal(typeof (await store().acquire(sem('s', 2), c, TTL, WAITER_LEASE)), 'number');
        assert.equal(await store().extend(sem('s', 2), b, TTL), true);
        assert.equal(await store().extend(sem('s', 2), a, TTL), false);
      });
    } else {
      it('refuses semaphores with a TypeError', async () => {
        await assert.rejects(store().acquire(sem('s', 2), token(), TTL, 0), TypeError);
      });
    }

    if (options.idempotency ?? true) {
      it('claims once, answers duplicates busy or mismatch, and replays a completion', async () => {
        const r = idem('claim');
        const [a, b] = [token(), token()];
        const claimed = await store().claim(r, a, TTL, 'f1', 60_000);
        assert.equal(claimed.kind, 'claimed');
        const again = await store().claim(r, a, TTL, 'f1', 60_000);
        assert.equal(again.kind, 'claimed', 'a retry by the claimant');
        if (claimed.kind === 'claimed' && again.kind === 'claimed') {
          assert.ok(again.fencingToken > claimed.fencingToken);
        }
        assert.equal((await store().claim(r, b, TTL, 'f1', 60_000)).kind, 'busy');
        assert.equal((await store().claim(r, b, TTL, 'f2', 60_000)).kind, 'mismatch');
        assert.equal(await store().complete(r, b, 'f1', 'nope', 60_000), 'lost');
        assert.notEqual(await store().complete(r, a, 'f1', '{"ok":1}', 60_000), 'lost');
        assert.deepEqual(await store().claim(r, b, TTL, 'f1', 60_000), {
          kind: 'done',
          response: '{"ok":1}',
        });
        assert.equal((await store().claim(r, b, TTL, 'f2', 60_000)).kind, 'mismatch');
        assert.equal(await store().isLocked(r), false);
      });

      it('lets the next claim run again after a completion without a response', async () => {
        const r = idem('drop');
        const a = token();
        assert.equal((await store().claim(r, a, TTL, 'f1', 60_000)).kind, 'claimed');
        assert.notEqual(await store().complete(r, a, 'f1', null, 60_000), 'lost');
        assert.equal((await store().claim(r, token(), TTL, 'f1', 60_000)).kind, 'claimed');
      });

      it('forgets a completed record after its retention', async () => {
        const r = idem('retention');
        const a = token();
        await store().claim(r, a, TTL, 'f1', shortTtl);
        await store().complete(r, a, 'f1', 'done', shortTtl);
        await sleep(shortTtl * 2);
        assert.equal((await store().claim(r, token(), TTL, 'f2', 60_000)).kind, 'claimed');
      });
    }

    it('answers isLocked', async () => {
      const r = lock('is');
      assert.equal(await store().isLocked(r), false);
      const t = token();
      await store().acquireFast(r, t, TTL);
      assert.equal(await store().isLocked(r), true);
      await store().release(r, t, false);
      assert.equal(await store().isLocked(r), false);
    });

    it('answers a health check', async () => {
      const health = await store().health();
      assert.equal(typeof health.topology, 'string');
      assert.ok(health.roundTripMs >= 0);
      assert.ok(Array.isArray(await store().checkSetup()));
    });

    it('closes, and may be closed twice', async () => {
      await store().close();
      await store().close();
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
