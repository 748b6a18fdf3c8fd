import { Injectable, INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import {
  DistributedLockModule,
  IdempotencyConflictError,
  IdempotencyMismatchError,
  IdempotencyService,
  LOCK_EVENT_CHANNELS,
  LockEvent,
  LockEvents,
  LockNotAcquiredError,
  LockService,
  LockStoreUnavailableError,
  WithLock,
} from '../../lib';
import { startRedisServer } from '../support/redis-server';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHANNEL_NAMES = Object.values(LOCK_EVENT_CHANNELS);

/** Every message on every lock channel while it runs, as `diagnostics_channel` delivers it. */
function recordChannels(): { events: LockEvent[]; stop(): void } {
  const events: LockEvent[] = [];
  const listener = (message: unknown) => events.push(message as LockEvent);
  for (const name of CHANNEL_NAMES) subscribe(name, listener);
  return {
    events,
    stop: () => {
      for (const name of CHANNEL_NAMES) unsubscribe(name, listener);
    },
  };
}

function nobodyListens(): boolean {
  return CHANNEL_NAMES.every((name) => !channel(name).hasSubscribers);
}

@Injectable()
class JobService {
  @WithLock('job', { onLocked: 'skip' })
  async run(): Promise<string> {
    return 'ran';
  }
}

async function createApp(redis?: string): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedLockModule.forRoot({ redis })],
    providers: [JobService],
  }).compile();
  return moduleRef.createNestApplication().init();
}

const fixture = useRedisServer({ flush: true });

afterEach(() => {
  // No test leaves a listener behind.
  expect(nobodyListens()).toBe(true);
});

describe.each([
  ['redis', () => fixture.server.url],
  ['memory', () => undefined],
])('lock events on the %s store', (_name, url) => {
  let locks: LockService;
  let recorder: ReturnType<typeof recordChannels>;

  beforeEach(() => {
    locks = new LockService({ redis: url(), recheckInterval: 20 });
    recorder = recordChannels();
  });

  afterEach(async () => {
    recorder.stop();
    await locks.close();
  });

  it('publishes acquired and released with the key, mode, fencing token and durations, never the owner token', async () => {
    const lock = await locks.acquire('orders:1');
    await sleep(20);
    await lock.release();
    const read = await locks.acquire('doc', { mode: 'read' });
    await read.release();
    const permit = await locks.semaphore('pool', 2).acquire();
    await permit.release();

    const [acquired, released] = recorder.events;
    expect(acquired).toEqual({
      type: 'acquired',
      key: 'orders:1',
      mode: 'exclusive',
      fencingToken: lock.fencingToken,
      waitedMs: expect.any(Number),
    });
    expect(released).toEqual({ type: 'released', key: 'orders:1', heldMs: expect.any(Number) });
    if (released.type !== 'released') throw new Error('unexpected');
    expect(released.heldMs).toBeGreaterThanOrEqual(15);
    expect(recorder.events.map((e) => e.type === 'acquired' && e.mode).filter(Boolean)).toEqual([
      'exclusive',
      'read',
      'permit',
    ]);
    const text = JSON.stringify(recorder.events);
    for (const held of [lock, read, permit]) expect(text).not.toContain(held.token);
  });

  it('publishes busy with the reason and the time waited: timeout, tryAcquire-miss, for one key and several', async () => {
    const held = await locks.acquire('a');
    await expect(locks.acquire('a', { waitTimeout: 50 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    await expect(locks.tryAcquire('a')).resolves.toBeNull();
    await expect(locks.acquire(['b', 'a'], { waitTimeout: 0 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    const permit = await locks.semaphore('one', 1).tryAcquire();
    await expect(locks.semaphore('one', 1).tryAcquire()).resolves.toBeNull();
    await permit?.release();
    await held.release();

    const busy = recorder.events.filter((e) => e.type === 'busy');
    expect(busy).toEqual([
      { type: 'busy', key: 'a', reason: 'timeout', waitedMs: expect.any(Number) },
      { type: 'busy', key: 'a', reason: 'tryAcquire-miss', waitedMs: expect.any(Number) },
      { type: 'busy', key: ['b', 'a'], reason: 'timeout', waitedMs: expect.any(Number) },
      { type: 'busy', key: 'one', reason: 'tryAcquire-miss', waitedMs: expect.any(Number) },
    ]);
    expect((busy[0] as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(45);
  });

  it('publishes lost with the fencing token and lease-ended when the lease ran out unrenewed', async () => {
    const lock = await locks.acquire('short', { ttl: 60, autoExtend: false });
    await waitUntil(() => !lock.isHeld(), 'the lease ended');
    const lost = recorder.events.filter((e) => e.type === 'lost');
    expect(lost).toEqual([
      {
        type: 'lost',
        key: 'short',
        fencingToken: lock.fencingToken,
        detectedBy: 'lease-ended',
        detail: 'its lease ended',
      },
    ]);
    // A lost lock is not released again: its events end with 'lost'.
    await lock.release();
    expect(recorder.events.map((e) => e.type)).toEqual(['acquired', 'lost']);
  });

  it('publishes nothing, and builds no message, when nobody listens', async () => {
    recorder.stop();
    const publishes = CHANNEL_NAMES.map((name) => jest.spyOn(channel(name), 'publish'));
    try {
      const lock = await locks.acquire('quiet');
      await locks.tryAcquire('quiet');
      await lock.release();
      for (const spy of publishes) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of publishes) spy.mockRestore();
    }
  });
});

describe('lock events that need Redis', () => {
  it('publishes lost with renewal-refused when a renewal finds the lock gone', async () => {
    const locks = new LockService({ redis: fixture.server.url, ttl: 300 });
    const recorder = recordChannels();
    try {
      const lock = await locks.acquire('gone');
      await fixture.redis.flushall();
      await waitUntil(() => !lock.isHeld(), 'the renewal found it gone');
      expect(recorder.events.filter((e) => e.type === 'lost')).toEqual([
        {
          type: 'lost',
          key: 'gone',
          fencingToken: lock.fencingToken,
          detectedBy: 'renewal-refused',
          detail: 'a renewal found it expired or held by another owner',
        },
      ]);
    } finally {
      recorder.stop();
      await locks.close();
    }
  });

  it('publishes renewal-failed and store-error while Redis is down, then lost', async () => {
    const server = await startRedisServer();
    // No reconnects: nothing of the client outlives the test.
    const redis = { host: '127.0.0.1', port: server.port, retryStrategy: () => null };
    const locks = new LockService({ redis, ttl: 600, commandTimeout: 100 });
    const recorder = recordChannels();
    try {
      const lock = await locks.acquire('outage');
      await server.stop();
      await expect(locks.acquire('other')).rejects.toBeInstanceOf(LockStoreUnavailableError);
      await waitUntil(() => !lock.isHeld(), 'the lease ended');
      const types = recorder.events.map((e) => e.type);
      expect(types).toContain('renewal-failed');
      expect(recorder.events).toContainEqual({
        type: 'renewal-failed',
        key: 'outage',
        error: expect.any(String),
      });
      expect(recorder.events).toContainEqual({
        type: 'store-error',
        operation: 'acquireFast',
        error: expect.any(String),
      });
      expect(recorder.events).toContainEqual({
        type: 'store-error',
        operation: 'extend',
        error: expect.any(String),
      });
      expect(recorder.events.filter((e) => e.type === 'lost')).toEqual([
        expect.objectContaining({ key: 'outage', detectedBy: 'lease-ended' }),
      ]);
      expect(JSON.stringify(recorder.events)).not.toContain(lock.token);
    } finally {
      recorder.stop();
      await locks.close();
      await server.stop();
    }
  });

  it('publishes the idempotency events: replayed, rejected (mismatch, in flight), claim lost', async () => {
    const locks = new LockService({ redis: fixture.server.url });
    const idempotency = new IdempotencyService(locks);
    const recorder = recordChannels();
    try {
      await idempotency.run('k1', { a: 1 }, () => 'done');
      await expect(idempotency.run('k1', { a: 1 }, () => 'again')).resolves.toEqual({
        value: 'done',
        replayed: true,
      });
      await expect(idempotency.run('k1', { a: 2 }, () => 'other')).rejects.toBeInstanceOf(
        IdempotencyMismatchError,
      );
      let release!: () => void;
      const first = idempotency.run('k2', {}, () => new Promise<void>((r) => (release = r)));
      await waitUntil(() => release !== undefined, 'the first run started');
      await expect(idempotency.run('k2', {}, () => undefined)).rejects.toBeInstanceOf(
        IdempotencyConflictError,
      );
      release();
      await first;
      // The claim's record and lock vanish while the work runs: its completion finds it lost.
      await idempotency.run('k3', {}, async () => {
        await fixture.redis.flushall();
        return 'late';
      });

      const idem = recorder.events.filter((e) => e.type.startsWith('idempotency-'));
      expect(idem).toEqual([
        { type: 'idempotency-replayed', status: 200 },
        { type: 'idempotency-rejected', reason: 'fingerprint-mismatch' },
        { type: 'idempotency-rejected', reason: 'in-flight' },
        { type: 'idempotency-claim-lost', fencingToken: expect.any(Number) },
      ]);
      // A claim is a lock too: every claim that was taken is reported taken and let go.
      const count = (type: string) => recorder.events.filter((e) => e.type === type).length;
      expect(count('acquired')).toBe(3);
      expect(count('released')).toBe(3);
    } finally {
      recorder.stop();
      await locks.close();
    }
  });
});

describe('LockEvents', () => {
  it("streams its own application's events only, and listens only while subscribed", async () => {
    const one = await createApp();
    const two = await createApp();
    try {
      const seen: LockEvent[] = [];
      expect(nobodyListens()).toBe(true);
      const sub = one.get(LockEvents).events$.subscribe((e) => seen.push(e));
      const other = two.get(LockEvents).events$.subscribe();
      expect(CHANNEL_NAMES.every((name) => channel(name).hasSubscribers)).toBe(true);

      await (await one.get(LockService).acquire('mine')).release();
      await (await two.get(LockService).acquire('theirs')).release();
      const jobs = one.get(JobService);
      const held = await one.get(LockService).acquire('job');
      await expect(jobs.run()).resolves.toBeUndefined();
      await held.release();

      expect(seen).toEqual([
        expect.objectContaining({ type: 'acquired', key: 'mine' }),
        expect.objectContaining({ type: 'released', key: 'mine' }),
        expect.objectContaining({ type: 'acquired', key: 'job' }),
        { type: 'busy', key: 'job', reason: 'skipped', waitedMs: expect.any(Number) },
        expect.objectContaining({ type: 'released', key: 'job' }),
      ]);
      sub.unsubscribe();
      expect(nobodyListens()).toBe(false);
      other.unsubscribe();
      expect(nobodyListens()).toBe(true);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('completes its subscribers when the application shuts down, leaving no listener', async () => {
    const app = await createApp();
    const events = app.get(LockEvents);
    let completed = false;
    events.events$.subscribe({ complete: () => (completed = true) });
    expect(nobodyListens()).toBe(false);
    await app.close();
    expect(completed).toBe(true);
    expect(nobodyListens()).toBe(true);
    let lateCompleted = false;
    events.events$.subscribe({ complete: () => (lateCompleted = true) });
    expect(lateCompleted).toBe(true);
    expect(nobodyListens()).toBe(true);
  });
});

describe('a listener that throws', () => {
  const run = promisify(execFile);

  it('changes nothing in the call it observes: its error is reported as uncaught, on its own', async () => {
    // A process of its own, loading lib/ through swc as Jest does: Jest's own handlers would
    // take the uncaught exceptions.
    const script = `
      const fs = require('node:fs');
      const swc = require('@swc/core');
      require.extensions['.ts'] = (module, file) => module._compile(swc.transformSync(
        fs.readFileSync(file, 'utf8'),
        {
          filename: file,
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
          },
          module: { type: 'commonjs' },
        },
      ).code, file);
      const dc = require('node:diagnostics_channel');
      const { LockService, LockEvents } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
      const uncaught = [];
      process.on('uncaughtException', (err) => uncaught.push(err.message));
      (async () => {
        const locks = new LockService({ waitTimeout: 0 });
        const events = new LockEvents(locks);
        dc.subscribe('nestjs-distributed-lock:acquired', () => { throw new Error('channel listener'); });
        events.events$.subscribe(() => { throw new Error('stream observer'); });
        const lock = await locks.acquire('k');
        const busy = await locks.tryAcquire('k');
        const released = await lock.release();
        await new Promise((r) => setTimeout(r, 50));
        console.log(JSON.stringify({ fencingToken: lock.fencingToken, busy, released, uncaught }));
        events.onApplicationShutdown();
        await locks.close();
      })();
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { timeout: 20_000 });
    // The last line: the in-memory store's warning comes first.
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.fencingToken).toEqual(expect.any(Number));
    expect(result.busy).toBeNull();
    expect(result.released).toBe(true);
    // Node reports the channel listener's throw, RxJS the observer's (once per event).
    expect(result.uncaught).toEqual(
      expect.arrayContaining(['channel listener', 'stream observer']),
    );
  });
});

describe('the metrics recipe of the README', () => {
  let dir: string;
  let recordLockMetrics: (events: LockEvents, registry: Registry) => Subscription;

  beforeAll(() => {
    // The README's prom-client block, run as it is (its imports pointed at this checkout).
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((m) => m[1])
      .find((code) => code.includes('recordLockMetrics'));
    if (!block) throw new Error('no metrics recipe in the README');
    dir = mkdtempSync(join(tmpdir(), 'ndl-metrics-'));
    const file = join(dir, 'recipe.ts');
    writeFileSync(
      file,
      block
        .replaceAll("'nestjs-distributed-lock'", JSON.stringify(join(__dirname, '..', '..', 'lib')))
        .replaceAll("'prom-client'", JSON.stringify(require.resolve('prom-client'))),
    );
    ({ recordLockMetrics } = require(file));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts outcomes, observes waits and holds in seconds, tracks held locks, and never labels by key', async () => {
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    const app = await createApp();
    const subscription = recordLockMetrics(app.get(LockEvents), registry);
    try {
      const locks = app.get(LockService);
      const first = await locks.acquire('order:secret-1');
      await locks.tryAcquire('order:secret-1');
      await expect(locks.acquire('order:secret-1', { waitTimeout: 10 })).rejects.toThrow();
      const second = await locks.acquire('order:secret-2');
      const values = async (name: string) =>
        (await registry.getSingleMetric(name)!.get()).values.map((v) => [
          (v as { metricName?: string }).metricName ?? name,
          v.labels,
          v.value,
        ]);
      expect(await values('locks_held')).toEqual([['locks_held', {}, 2]]);
      await first.release();
      await second.release();

      expect(await values('locks_held')).toEqual([['locks_held', {}, 0]]);
      expect(await values('lock_acquire_total')).toEqual(
        expect.arrayContaining([
          ['lock_acquire_total', { outcome: 'acquired' }, 2],
          ['lock_acquire_total', { outcome: 'tryAcquire-miss' }, 1],
          ['lock_acquire_total', { outcome: 'timeout' }, 1],
        ]),
      );
      expect(await values('lock_acquire_wait_seconds')).toContainEqual([
        'lock_acquire_wait_seconds_count',
        {},
        4,
      ]);
      expect(await values('lock_hold_seconds')).toContainEqual(['lock_hold_seconds_count', {}, 2]);
      const text = await registry.metrics();
      expect(text).not.toContain('secret');
      expect(text).not.toMatch(/key=/);
    } finally {
      subscription.unsubscribe();
      await app.close();
    }
  });
});
