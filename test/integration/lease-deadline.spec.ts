import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DistributedLockModule, LockLostError, LockService } from '../../lib';
import { useRedisServer } from '../support/use-redis-server';

describe('a lease judged on the client (real redis-server)', () => {
  const fixture = useRedisServer({ flush: true });

  it('a lock that is not renewed is lost at validUntil: its signal aborts and isHeld() turns false', async () => {
    const locks = new LockService({ redis: fixture.server.url, evictionPolicy: 'ignore' });
    try {
      const sentAt = Date.now();
      const lock = await locks.acquire('deadline:plain', { ttl: 400, autoExtend: false });
      // ttl − (1 % + 2 ms), counted from before the request was sent.
      expect(lock.validUntil).toBeGreaterThanOrEqual(sentAt + 400 - 6 - 5);
      expect(lock.validUntil).toBeLessThanOrEqual(Date.now() + 400);
      expect(lock.isHeld()).toBe(true);
      const aborted = new Promise<number>((resolve) =>
        lock.signal.addEventListener('abort', () => resolve(Date.now())),
      );
      const at = await aborted;
      expect(at).toBeGreaterThanOrEqual(lock.validUntil - 5);
      expect(at - lock.validUntil).toBeLessThan(150);
      expect(lock.signal.reason).toBeInstanceOf(LockLostError);
      expect(lock.isHeld()).toBe(false);
      expect(locks.heldCount).toBe(0);
    } finally {
      await locks.close();
    }
  });

  it('extend() to a shorter ttl brings validUntil forward, as the store shortens the lease', async () => {
    const locks = new LockService({ redis: fixture.server.url, evictionPolicy: 'ignore' });
    try {
      const lock = await locks.acquire('deadline:shorter', { ttl: 30_000 });
      const sentAt = Date.now();
      expect(await lock.extend(300)).toBe(true);
      expect(lock.validUntil).toBeLessThanOrEqual(Date.now() + 300);
      expect(lock.validUntil).toBeGreaterThan(sentAt + 300 - 50);
      expect(await fixture.redis.pttl('lock:{deadline:shorter}')).toBeLessThanOrEqual(300);
      await lock.release();
    } finally {
      await locks.close();
    }
  });

  it('logs the loss at validUntil, naming the key', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const locks = new LockService({ redis: fixture.server.url, evictionPolicy: 'ignore' });
    try {
      const lock = await locks.acquire('deadline:logged', { ttl: 200, autoExtend: false });
      await new Promise((resolve) => lock.signal.addEventListener('abort', resolve));
      expect(warn.mock.calls.flat().join(' ')).toMatch(/Lock "deadline:logged" was lost/);
    } finally {
      warn.mockRestore();
      await locks.close();
    }
  });

  it('a renewed lock moves validUntil forward and stays held past its first lease', async () => {
    const locks = new LockService({ redis: fixture.server.url, evictionPolicy: 'ignore' });
    try {
      const lock = await locks.acquire('deadline:renewed', { ttl: 300 });
      const first = lock.validUntil;
      await new Promise((r) => setTimeout(r, 600));
      expect(lock.isHeld()).toBe(true);
      expect(lock.validUntil).toBeGreaterThan(first + 200);
      expect(lock.signal.aborted).toBe(false);
      expect(await lock.release()).toBe(true);
      expect(lock.isHeld()).toBe(false);
    } finally {
      await locks.close();
    }
  });
});

describe('the eviction policy is checked when the module starts', () => {
  const fixture = useRedisServer();

  afterEach(async () => {
    await fixture.redis.config('SET', 'maxmemory-policy', 'noeviction');
    jest.restoreAllMocks();
  });

  const start = async (evictionPolicy?: 'warn' | 'throw' | 'ignore') => {
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot({ redis: fixture.server.url, evictionPolicy })],
    }).compile();
    return moduleRef;
  };

  it('warns when Redis may evict keys, and not with noeviction', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const quiet = await (await start()).init();
    await quiet.close();
    expect(warn.mock.calls.flat().join(' ')).not.toMatch(/maxmemory-policy/);

    await fixture.redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const app = await (await start()).init();
    await app.close();
    expect(warn.mock.calls.flat().join(' ')).toMatch(/maxmemory-policy allkeys-lru/);
  });

  it("refuses to start with evictionPolicy: 'throw'", async () => {
    await fixture.redis.config('SET', 'maxmemory-policy', 'volatile-lru');
    const moduleRef = await start('throw');
    await expect(moduleRef.init()).rejects.toThrow(/maxmemory-policy volatile-lru/);
    await moduleRef.get(LockService).close();
  });
});
