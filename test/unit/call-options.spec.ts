import { Logger } from '@nestjs/common';
import { LockOptions, LockService, WithLock, WithSemaphore } from '../../lib';
import { MAX_TIMER_MS } from '../../lib/validation/number-options';

let locks: LockService;

beforeAll(() => Logger.overrideLogger(false));
beforeEach(() => {
  locks = new LockService();
});
afterEach(async () => {
  expect(locks.heldCount).toBe(0);
  await locks.close();
});

const bad = <T>(options: unknown) => options as T;

describe('lock options checked when LockService is called', () => {
  it('rejects a ttl that would make the watchdog renew every millisecond, and locks nothing', async () => {
    await expect(locks.acquire('k', { ttl: 6.5e9 })).rejects.toThrow(
      'Lock option `ttl` must be an integer number of ms from 1 to 2147483647 (the largest ' +
        'delay setTimeout supports, about 24.8 days), got 6500000000.',
    );
    await expect(locks.using('k', () => 'ran', { ttl: 1e21 })).rejects.toThrow(/got 1e\+21\.$/);
    await expect(locks.tryAcquire('k', { ttl: MAX_TIMER_MS + 1 })).rejects.toThrow(TypeError);
    expect(await locks.isLocked('k')).toBe(false);
  });

  it('accepts a ttl of exactly the largest setTimeout delay', async () => {
    const lock = await locks.acquire('k', { ttl: MAX_TIMER_MS });
    expect(await lock.release()).toBe(true);
  });

  it('rejects a waitTimeout beyond the largest setTimeout delay but accepts Infinity', async () => {
    await expect(locks.acquire('k', { waitTimeout: MAX_TIMER_MS + 1 })).rejects.toThrow(
      /^Lock option `waitTimeout` must be a number of ms from 0 to 2147483647 .*, or Infinity, got 2147483648\.$/,
    );
    const lock = await locks.acquire('k', { waitTimeout: Infinity });
    await lock.release();
  });

  it('rejects a misspelt option naming the option it most likely meant, and runs nothing', async () => {
    const fn = jest.fn();
    await expect(locks.using('k', fn, bad<LockOptions>({ waitTimout: 0 }))).rejects.toThrow(
      'Unknown Lock option `waitTimout`: did you mean `waitTimeout`? Valid options: ttl, ' +
        'waitTimeout, autoExtend, mode, signal.',
    );
    await expect(locks.acquire('k', bad<LockOptions>({ autoextend: false }))).rejects.toThrow(
      /`autoextend`: did you mean `autoExtend`\?/,
    );
    expect(fn).not.toHaveBeenCalled();
  });

  it('shows the type of a bad mode and a bad signal', async () => {
    await expect(locks.acquire('k', bad<LockOptions>({ mode: 'shared' }))).rejects.toThrow(
      "Lock option `mode` must be 'exclusive', 'read' or 'write', got \"shared\" (a string).",
    );
    await expect(locks.acquire('k', bad<LockOptions>({ signal: {} }))).rejects.toThrow(
      'Lock option `signal` must be an AbortSignal, got an object.',
    );
  });

  it('rejects options that are not an object', async () => {
    await expect(locks.acquire('k', bad<LockOptions>(5000))).rejects.toThrow(
      'Lock options must be an object, got 5000.',
    );
  });
});

describe('methods of one key', () => {
  it('isLocked rejects an array instead of checking the key "a,b"', async () => {
    const held = await locks.acquire('a,b');
    await expect(locks.isLocked(bad<string>(['a', 'b']))).rejects.toThrow(
      'LockService.isLocked takes one key, a non-empty string, got an array; call it once per key.',
    );
    await held.release();
  });

  it('semaphore rejects an array instead of using the key "a,b"', () => {
    expect(() => locks.semaphore(bad<string>(['a', 'b']), 2)).toThrow(
      'LockService.semaphore takes one key, a non-empty string, got an array; call it once per key.',
    );
  });

  it('current rejects an array instead of looking up the key "a,b"', async () => {
    await locks.using('a,b', () => {
      expect(() => locks.current(bad<string>(['a', 'b']))).toThrow(
        'LockService.current takes one key, a non-empty string, got an array; call it once per key.',
      );
    });
  });

  it('names the type, never the text, of a bad key', async () => {
    await expect(locks.isLocked(bad<string>(42))).rejects.toThrow(/got a number\.$/);
    await expect(locks.isLocked('')).rejects.toThrow(/got an empty string\.$/);
    await expect(locks.acquire(bad<string[]>(['a', 7]))).rejects.toThrow(
      'LockService.acquire: every key must be a non-empty string, but key 1 is a number.',
    );
  });
});

describe('semaphores', () => {
  it('rejects permits given as a string, showing its type', () => {
    expect(() => locks.semaphore('s', bad<number>('3'))).toThrow(
      'LockService.semaphore: permits must be an integer >= 1, got "3" (a string).',
    );
  });

  it('using with a non-function takes no permit: it fails at once even when none is free', async () => {
    const semaphore = locks.semaphore('s', 1);
    const permit = await semaphore.acquire();
    const started = Date.now();
    await expect(semaphore.using(bad<() => void>('x'), { waitTimeout: 2000 })).rejects.toThrow(
      'Semaphore.using: the first argument must be a function, got "x" (a string).',
    );
    expect(Date.now() - started).toBeLessThan(1000);
    await permit.release();
  });

  it('rejects mode among permit options instead of dropping it', async () => {
    const semaphore = locks.semaphore('s', 2);
    const options = bad<{ ttl: number }>({ mode: 'read' });
    await expect(semaphore.acquire(options)).rejects.toThrow(
      /^Unknown Semaphore option `mode`\. Valid options: ttl, waitTimeout, autoExtend, signal\.$/,
    );
    await expect(semaphore.tryAcquire(options)).rejects.toThrow(/Semaphore option `mode`/);
    await expect(semaphore.using(() => 1, options)).rejects.toThrow(/Semaphore option `mode`/);
  });

  it('checks permit option values', async () => {
    await expect(locks.semaphore('s', 2).acquire({ ttl: 1e21 })).rejects.toThrow(
      /^Semaphore option `ttl` must be an integer .*, got 1e\+21\.$/,
    );
  });
});

describe('decorator options checked when the class is defined', () => {
  it('@WithLock rejects a misspelt option with a suggestion', () => {
    expect(() => WithLock('k', bad<object>({ waitTimout: 0 }))).toThrow(
      'Unknown @WithLock option `waitTimout`: did you mean `waitTimeout`? Valid options: ttl, ' +
        'waitTimeout, autoExtend, mode, onLocked, onUnavailable, holdAtLeast.',
    );
    expect(() => WithLock('k', bad<object>({ onlocked: 'skip' }))).toThrow(
      /`onlocked`: did you mean `onLocked`\?/,
    );
  });

  it('@WithLock rejects signal, which a decorator cannot take', () => {
    const signal = new AbortController().signal;
    expect(() => WithLock('k', bad<object>({ signal }))).toThrow(
      /^Unknown @WithLock option `signal`/,
    );
  });

  it('@WithLock rejects ttl 1e21 instead of answering every call with 503', () => {
    expect(() => WithLock('k', { ttl: 1e21 })).toThrow(
      /^@WithLock option `ttl` must be an integer .*, got 1e\+21\.$/,
    );
  });

  it('@WithLock shows the type of a bad onLocked or onUnavailable', () => {
    expect(() => WithLock('k', bad<object>({ onLocked: 'wait' }))).toThrow(
      "@WithLock option `onLocked` must be 'throw' or 'skip', got \"wait\" (a string).",
    );
    expect(() => WithLock('k', bad<object>({ onUnavailable: true }))).toThrow(
      "@WithLock option `onUnavailable` must be 'throw' or 'run', got true.",
    );
  });

  it('@WithSemaphore rejects mode, and permits given as a string', () => {
    expect(() => WithSemaphore('k', 2, bad<object>({ mode: 'read' }))).toThrow(
      /^Unknown @WithSemaphore option `mode`\. Valid options: ttl, waitTimeout, autoExtend, onLocked, onUnavailable\.$/,
    );
    expect(() => WithSemaphore('k', bad<number>('2'))).toThrow(
      '@WithSemaphore: permits must be an integer >= 1, got "2" (a string).',
    );
  });
});
