import {
  BadRequestException,
  HttpException,
  InternalServerErrorException,
  Logger,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  IdempotencyConflictError,
  IdempotencyMismatchError,
  IdempotencyService,
  LockService,
} from '../../lib';
import { MESSAGES } from '../../lib/distributed-lock.messages';
import { MemoryLockStore } from '../../lib/stores/memory-lock.store';
import { useRedisServer } from '../support/use-redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise the test resolves by hand, to hold work in flight. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Every key in the fixture's Redis (the tests use one small database), sorted. */
async function allKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

const fixture = useRedisServer({ flush: true });

const stores: [string, boolean][] = [
  ['redis store', true],
  ['memory store', false],
];

describe.each(stores)('IdempotencyService.run on the %s', (_name, onRedis) => {
  let locks: LockService;
  let idem: IdempotencyService;
  let warn: jest.SpyInstance;
  let n = 0;
  let key: string;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn');
    locks = onRedis ? new LockService({ redis: fixture.server.url }) : new LockService();
    idem = new IdempotencyService(locks);
    key = `order:${++n}`;
  });

  afterEach(async () => {
    try {
      expect(locks.heldCount).toBe(0);
      if (onRedis) {
        // Nothing but outcomes and fencing counters stays: no lock, queue or waiter key.
        const keys = await allKeys(fixture.redis);
        for (const k of keys)
          expect(k).toMatch(/^lock:(idem:\{[^}]+\}:record|fence\{[0-9a-z]+\})$/);
      } else {
        // The memory twin: no resource is held or waited for.
        const { store } = locks as unknown as { store: unknown };
        expect(store).toBeInstanceOf(MemoryLockStore);
        expect((store as MemoryLockStore).size).toBe(0);
      }
      // The memory store says once that it is not shared; nothing else is worth a warning.
      const warnings = warn.mock.calls.map((call: unknown[]) => call[0]);
      expect(warnings).toEqual(onRedis ? [] : [MESSAGES.inMemoryWarning]);
    } finally {
      warn.mockRestore();
      await locks.close();
    }
  });

  it('runs the work once and returns its value, not replayed', async () => {
    const fn = jest.fn(async () => ({ order: 1 }));
    await expect(idem.run(key, { sku: 'A' }, fn)).resolves.toEqual({
      value: { order: 1 },
      replayed: false,
    });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('replays the stored value to a second call with an equal fingerprint, without running', async () => {
    const fn = jest.fn(async () => ({ order: 1, at: new Date(0) }));
    await idem.run(key, { sku: 'A', qty: 1 }, fn);
    const again = await idem.run(key, { qty: 1, sku: 'A' }, fn);
    // The stored value is the JSON of the first one.
    expect(again).toEqual({ value: { order: 1, at: '1970-01-01T00:00:00.000Z' }, replayed: true });
    expect(fn).toHaveBeenCalledTimes(1);
    if (onRedis) {
      expect(await allKeys(fixture.redis)).toEqual([
        expect.stringMatching(/fence\{[0-9a-z]+\}$/),
        expect.stringMatching(/:record$/),
      ]);
    }
  });

  it('replays strings and undefined as they were returned', async () => {
    await idem.run(`${key}:text`, 1, () => 'accepted');
    await expect(idem.run(`${key}:text`, 1, () => 'again')).resolves.toEqual({
      value: 'accepted',
      replayed: true,
    });
    await idem.run(`${key}:none`, 1, () => undefined);
    await expect(idem.run(`${key}:none`, 1, () => 'again')).resolves.toEqual({
      value: undefined,
      replayed: true,
    });
  });

  it('rejects a call with another fingerprint with IdempotencyMismatchError (422)', async () => {
    const fn = jest.fn(() => 'ok');
    await idem.run(key, { qty: 1 }, fn);
    const error = await idem.run(key, { qty: 2 }, fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyMismatchError);
    expect((error as IdempotencyMismatchError).getStatus()).toBe(422);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('rejects another fingerprint while the first call is still running (422, not 409)', async () => {
    const hold = gate();
    const first = idem.run(key, { qty: 1 }, () => hold.opened.then(() => 'first'));
    await sleep(20);
    const error = await idem.run(key, { qty: 2 }, () => 'second').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyMismatchError);
    hold.open();
    await expect(first).resolves.toEqual({ value: 'first', replayed: false });
  });

  it('rejects a concurrent duplicate with IdempotencyConflictError (409) and a retry delay', async () => {
    const hold = gate();
    const started = gate();
    const first = idem.run(
      key,
      { qty: 1 },
      async () => {
        started.open();
        await hold.opened;
        return 'first';
      },
      { lease: 3000 },
    );
    await started.opened;
    const second = jest.fn(() => 'second');
    const error = await idem.run(key, { qty: 1 }, second).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    const conflict = error as IdempotencyConflictError;
    expect(conflict.getStatus()).toBe(409);
    expect(conflict.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Within the first call's lease.
    expect(conflict.retryAfterSeconds).toBeLessThanOrEqual(3);
    expect(second).not.toHaveBeenCalled();
    hold.open();
    await expect(first).resolves.toEqual({ value: 'first', replayed: false });
    await expect(idem.run(key, { qty: 1 }, second)).resolves.toEqual({
      value: 'first',
      replayed: true,
    });
  });

  it("with onInFlight 'wait', a concurrent duplicate waits and gets the first one's value", async () => {
    const hold = gate();
    const started = gate();
    const first = idem.run(key, { qty: 1 }, async () => {
      started.open();
      await hold.opened;
      return { order: 1 };
    });
    await started.opened;
    const second = jest.fn(() => ({ order: 2 }));
    let settled = false;
    const waiting = idem
      .run(key, { qty: 1 }, second, { onInFlight: 'wait', waitTimeout: 5000 })
      .finally(() => (settled = true));
    // It neither ran nor was refused: it waits while the first runs.
    await sleep(100);
    expect(settled).toBe(false);
    hold.open();
    await expect(first).resolves.toEqual({ value: { order: 1 }, replayed: false });
    await expect(waiting).resolves.toEqual({ value: { order: 1 }, replayed: true });
    expect(second).not.toHaveBeenCalled();
  });

  it("with onInFlight 'wait', a duplicate runs the work when the first gave its claim back", async () => {
    const hold = gate();
    const started = gate();
    const first = idem.run(key, { qty: 1 }, async () => {
      started.open();
      await hold.opened;
      throw new Error('payment provider timed out');
    });
    await started.opened;
    const waiting = idem.run(key, { qty: 1 }, () => 'second ran', {
      onInFlight: 'wait',
      waitTimeout: 5000,
    });
    await sleep(50);
    hold.open();
    await expect(first).rejects.toThrow('payment provider timed out');
    await expect(waiting).resolves.toEqual({ value: 'second ran', replayed: false });
  });

  it('rethrows a plain Error and keeps no outcome: a retry runs the work again', async () => {
    const failure = new Error('database down');
    const fn = jest.fn().mockRejectedValueOnce(failure).mockResolvedValueOnce('ok');
    await expect(idem.run(key, 1, fn)).rejects.toBe(failure);
    await expect(idem.run(key, 1, fn)).resolves.toEqual({ value: 'ok', replayed: false });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('stores a thrown 4xx HttpException and replays it as an HttpException with the same response', async () => {
    const fn = jest.fn(() => {
      throw new BadRequestException({ message: 'sku out of range', field: 'sku' });
    });
    const original = (await idem.run(key, 1, fn).catch((e: unknown) => e)) as HttpException;
    expect(original).toBeInstanceOf(BadRequestException);
    const replayed = (await idem.run(key, 1, fn).catch((e: unknown) => e)) as HttpException;
    expect(replayed).toBeInstanceOf(HttpException);
    expect(replayed.getStatus()).toBe(400);
    expect(replayed.getResponse()).toEqual(original.getResponse());
    expect(replayed.getResponse()).toEqual({ message: 'sku out of range', field: 'sku' });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('replays a 4xx HttpException made from a string with the body Nest would have sent', async () => {
    const fn = jest.fn(() => {
      throw new HttpException('gone', 410);
    });
    await expect(idem.run(key, 1, fn)).rejects.toThrow('gone');
    const replayed = (await idem.run(key, 1, fn).catch((e: unknown) => e)) as HttpException;
    expect(replayed.getStatus()).toBe(410);
    expect(replayed.getResponse()).toEqual({ statusCode: 410, message: 'gone' });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not store a 5xx HttpException: a retry runs the work again', async () => {
    const fn = jest
      .fn()
      .mockRejectedValueOnce(new InternalServerErrorException('database down'))
      .mockResolvedValueOnce('ok');
    await expect(idem.run(key, 1, fn)).rejects.toBeInstanceOf(InternalServerErrorException);
    await expect(idem.run(key, 1, fn)).resolves.toEqual({ value: 'ok', replayed: false });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('follows storeIf: an outcome it refuses is not kept', async () => {
    const fn = jest.fn(() => 'ok');
    const storeIf = (status: number) => status !== 200;
    await idem.run(key, 1, fn, { storeIf });
    await expect(idem.run(key, 1, fn, { storeIf })).resolves.toEqual({
      value: 'ok',
      replayed: false,
    });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('gives the work its claim with current(): a fencing token that grows with every claim', async () => {
    const tokens: number[] = [];
    const work = async () => {
      const claim = idem.current();
      expect(claim).toBeDefined();
      expect(claim!.isHeld()).toBe(true);
      expect(claim!.signal.aborted).toBe(false);
      expect(claim!.validUntil).toBeGreaterThan(Date.now());
      tokens.push(claim!.fencingToken);
      if (tokens.length < 3) throw new Error(`attempt ${tokens.length} failed`);
      return tokens.length;
    };
    await expect(idem.run(key, 1, work)).rejects.toThrow('attempt 1 failed');
    await expect(idem.run(key, 1, work)).rejects.toThrow('attempt 2 failed');
    await expect(idem.run(key, 1, work)).resolves.toEqual({ value: 3, replayed: false });
    expect(tokens).toHaveLength(3);
    for (const token of tokens) expect(Number.isInteger(token)).toBe(true);
    expect(tokens[1]).toBeGreaterThan(tokens[0]);
    expect(tokens[2]).toBeGreaterThan(tokens[1]);
  });

  it('answers current() with undefined outside the work, and after it', async () => {
    expect(idem.current()).toBeUndefined();
    let inside: unknown;
    await idem.run(key, 1, () => {
      inside = idem.current();
      setTimeout(() => undefined, 0);
    });
    expect(inside).toBeDefined();
    expect(idem.current()).toBeUndefined();
    // A replay does not run the work, so it has no claim either.
    await idem.run(key, 1, () => (inside = 'ran'));
    expect(idem.current()).toBeUndefined();
  });

  it('keeps the records of different keys apart', async () => {
    await idem.run(`${key}:a`, 1, () => 'a');
    await idem.run(`${key}:b`, 1, () => 'b');
    await expect(idem.run(`${key}:a`, 1, () => 'x')).resolves.toEqual({
      value: 'a',
      replayed: true,
    });
    await expect(idem.run(`${key}:b`, 1, () => 'x')).resolves.toEqual({
      value: 'b',
      replayed: true,
    });
  });

  it('keeps an outcome for its retention only', async () => {
    const fn = jest.fn(() => 'ok');
    await idem.run(key, 1, fn, { retention: 200 });
    await expect(idem.run(key, 1, fn)).resolves.toEqual({ value: 'ok', replayed: true });
    await sleep(300);
    await expect(idem.run(key, 1, fn)).resolves.toEqual({ value: 'ok', replayed: false });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('leaves no lock behind after a mix of stored, failed, refused and waiting calls', async () => {
    const hold = gate();
    const started = gate();
    const running = idem.run(key, 1, async () => {
      started.open();
      await hold.opened;
      return 'done';
    });
    await started.opened;
    const refused = idem.run(key, 1, () => 'x').catch((e: unknown) => e);
    const waiters = [1, 2, 3].map(() => idem.run(key, 1, () => 'x', { onInFlight: 'wait' }));
    await sleep(50);
    hold.open();
    await running;
    expect(await refused).toBeInstanceOf(IdempotencyConflictError);
    for (const waiter of await Promise.all(waiters)) {
      expect(waiter).toEqual({ value: 'done', replayed: true });
    }
    await idem.run(`${key}:failed`, 1, () => Promise.reject(new Error('no'))).catch(() => null);
    // afterEach checks: no held lock, and in Redis only :record and :fence keys.
  });
});
