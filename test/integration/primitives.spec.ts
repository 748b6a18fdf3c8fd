import { Injectable, INestApplicationContext, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DistributedLockModule,
  LockNotAcquiredError,
  LockService,
  WithLock,
  WithSemaphore,
} from '../../lib';
import { killAllWorkers, lockKeys, spawnWorker, zmembers } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { isFenceCounter } from '../support/fence-keys';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shared workloads (plain JS, also run by the child processes). */
interface Tally {
  get(name: string): Promise<number>;
  set(name: string, value: number): Promise<void>;
}
type Scenario = 'transfers' | 'readWrite' | 'semaphore';
type RunScenario = (locks: LockService, tally: Tally, options: object) => Promise<unknown>;
const shared = require('../support/invariant-scenarios.js') as {
  scenarios: Record<Scenario, RunScenario>;
  memoryTally(): Tally;
};

interface TransferReport {
  done: number;
  moved: Record<string, number>;
}
interface ReadWriteReport {
  reads: number;
  writes: number;
  violations: number;
  maxReaders: number;
  maxWriters: number;
}
interface SemaphoreReport {
  done: number;
  violations: number;
  maxActive: number;
}

const fixture = useRedisServer({ build: true, flush: true });

/** Closes every service first (a failed test must not keep Jest alive), then checks none held a lock. */
async function closeAll(services: LockService[]): Promise<void> {
  const held = services.map((s) => s.heldCount);
  await Promise.all(services.map((s) => s.onApplicationShutdown()));
  expect(held.every((n) => n === 0)).toBe(true);
}

/**
 * Where a workload runs: in `parallel` child processes on Redis, or as `parallel` groups of
 * concurrent callers of one in-process service on the memory store.
 */
interface Backend {
  readonly name: string;
  readonly url: string | undefined;
  run<T>(scenario: Scenario, options: object, parallel: number): Promise<T[]>;
  value(name: string): Promise<number>;
  setValue(name: string, value: number): Promise<void>;
  /** A service on this backend's store (services of the memory store never share locks). */
  service(options?: { reentrant?: boolean; recheckInterval?: number }): LockService;
  /** A second service sharing the first one's locks (the same one on the memory store). */
  peer(first: LockService): LockService;
  cleanup(): Promise<void>;
}

function redisBackend(): Backend {
  const services: LockService[] = [];
  return {
    name: 'redis store, child processes',
    get url() {
      return fixture.server.url;
    },
    async run<T>(scenario: Scenario, options: object, parallel: number): Promise<T[]> {
      const workers = Array.from({ length: parallel }, () =>
        spawnWorker('invariant-worker.js', { url: fixture.server.url, scenario, options }),
      );
      await Promise.all(workers.map((w) => w.message('ready')));
      for (const w of workers) w.go();
      return Promise.all(workers.map((w) => w.result<T>()));
    },
    value: async (name) => Number((await fixture.redis.get(name)) ?? 0),
    setValue: async (name, value) => {
      await fixture.redis.set(name, String(value));
    },
    service(options = {}) {
      const s = new LockService({ redis: fixture.server.url, ...options });
      services.push(s);
      return s;
    },
    peer(_first) {
      return this.service();
    },
    async cleanup() {
      await killAllWorkers();
      await closeAll(services.splice(0));
    },
  };
}

function memoryBackend(): Backend {
  const services: LockService[] = [];
  let tally = shared.memoryTally();
  return {
    name: 'memory store, in-process callers',
    url: undefined,
    async run<T>(scenario: Scenario, options: object, parallel: number): Promise<T[]> {
      const locks = this.service();
      return (await Promise.all(
        Array.from({ length: parallel }, () => shared.scenarios[scenario](locks, tally, options)),
      )) as T[];
    },
    value: (name) => tally.get(name),
    setValue: (name, value) => tally.set(name, value),
    service(options = {}) {
      const s = new LockService(options);
      services.push(s);
      return s;
    },
    peer(first) {
      return first;
    },
    async cleanup() {
      tally = shared.memoryTally();
      const closing = services.splice(0);
      const sizes = closing.map((s) => (s as any).store.size as number);
      await closeAll(closing);
      expect(sizes.every((n) => n === 0)).toBe(true);
    },
  };
}

const backends: [string, () => Backend][] = [
  ['redis', redisBackend],
  ['memory', memoryBackend],
];

async function nestApp(
  url: string | undefined,
  provider: Type<unknown>,
  options: { reentrant?: boolean } = {},
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedLockModule.forRoot({ redis: url, ...options })],
    providers: [provider],
  }).compile();
  return moduleRef.init();
}

@Injectable()
class Ledger {
  innerRuns = 0;

  @WithLock('ledger:<id>', { waitTimeout: 300 })
  async post(id: string): Promise<string> {
    return this.audit(id);
  }

  @WithLock('ledger:<id>', { waitTimeout: 300 })
  async audit(id: string): Promise<string> {
    this.innerRuns++;
    return `audited:${id}`;
  }
}

@Injectable()
class Jobs {
  active = 0;
  maxActive = 0;
  runs = 0;

  @WithSemaphore('jobs:<queue>', 2, { waitTimeout: 10_000 })
  async run(queue: string, ms: number): Promise<void> {
    void queue;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await sleep(ms);
    this.active--;
    this.runs++;
  }
}

describe.each(backends)('primitives on the %s store', (_name, create) => {
  let backend: Backend;

  beforeEach(() => {
    backend = create();
  });

  afterEach(async () => {
    await backend.cleanup();
  });

  describe('reentrancy', () => {
    it('nested using on the same key in one chain does not deadlock; the lock is held until the outermost exits, and another chain waits for that', async () => {
      const locks = backend.service({ reentrant: true });
      const events: string[] = [];
      let enteredOuter!: () => void;
      const outerEntered = new Promise<void>((r) => (enteredOuter = r));

      const outer = locks.using(
        'reentrant:a',
        async (outerLock) => {
          events.push('outer:in');
          enteredOuter();
          const inner = await locks.using(
            'reentrant:a',
            async (innerLock) => {
              events.push('inner:in');
              expect(innerLock.fencingToken).toBe(outerLock.fencingToken);
              const innermost = await locks.using('reentrant:a', () => 'innermost', {
                waitTimeout: 200,
              });
              await sleep(30);
              events.push('inner:out');
              return innermost;
            },
            { waitTimeout: 200 },
          );
          expect(inner).toBe('innermost');
          // The inner holds are gone; the outer one still holds the lock.
          expect(await locks.isLocked('reentrant:a')).toBe(true);
          await sleep(150);
          events.push('outer:out');
        },
        { waitTimeout: 1000 },
      );

      await outerEntered;
      // Started from the test's own chain, not from inside the lock: a different chain.
      const other = locks.using(
        'reentrant:a',
        () => {
          events.push('other:in');
        },
        { waitTimeout: 5000 },
      );
      await Promise.all([outer, other]);
      expect(events).toEqual(['outer:in', 'inner:in', 'inner:out', 'outer:out', 'other:in']);
      expect(await locks.isLocked('reentrant:a')).toBe(false);
      expect(locks.heldCount).toBe(0);
    });

    it('a decorated method calling another decorated method of the same key completes', async () => {
      const app = await nestApp(backend.url, Ledger, { reentrant: true });
      try {
        const ledger = app.get(Ledger);
        await expect(ledger.post('42')).resolves.toBe('audited:42');
        expect(ledger.innerRuns).toBe(1);
        const locks = app.get(LockService);
        expect(await locks.isLocked('ledger:42')).toBe(false);
        expect(locks.heldCount).toBe(0);
      } finally {
        await app.close();
      }
    });

    it('allows a read inside a write on the same key', async () => {
      const locks = backend.service({ reentrant: true });
      const result = await locks.using(
        'reentrant:rw',
        () =>
          locks.using('reentrant:rw', async () => 'read inside write', {
            mode: 'read',
            waitTimeout: 200,
          }),
        { mode: 'write' },
      );
      expect(result).toBe('read inside write');
      expect(await locks.isLocked('reentrant:rw')).toBe(false);
    });

    it('throws a clear error for a write inside a read on the same key, and releases the read', async () => {
      const locks = backend.service({ reentrant: true });
      let innerRan = false;
      const error = await locks
        .using(
          'reentrant:wr',
          () =>
            locks.using(
              'reentrant:wr',
              () => {
                innerRan = true;
              },
              { mode: 'write', waitTimeout: 200 },
            ),
          { mode: 'read' },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(LockNotAcquiredError);
      expect((error as Error).message).toMatch(/write lock on "reentrant:wr".*read lock/);
      expect(innerRan).toBe(false);
      expect(await locks.isLocked('reentrant:wr')).toBe(false);
      expect(locks.heldCount).toBe(0);
    });

    it('a nested read does not queue behind a writer that waits for the outer read', async () => {
      const locks = backend.service({ reentrant: true });
      const writerService = backend.peer(locks);
      const events: string[] = [];
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      let letGo!: () => void;
      const writerQueued = new Promise<void>((r) => (letGo = r));

      const reader = locks.using(
        'reentrant:rr',
        async () => {
          entered();
          await writerQueued;
          const nested = await locks.using('reentrant:rr', async () => 'nested read', {
            mode: 'read',
            waitTimeout: 500,
          });
          events.push('reader:out');
          return nested;
        },
        { mode: 'read' },
      );
      await inside;
      // From the test's chain: the writer waits for the outer read and is first in line.
      const writer = writerService
        .acquire('reentrant:rr', { mode: 'write', waitTimeout: 5000 })
        .then((w) => {
          events.push('writer:in');
          return w.release();
        });
      await sleep(50);
      letGo();
      expect(await reader).toBe('nested read');
      await writer;
      expect(events).toEqual(['reader:out', 'writer:in']);
    });

    it('with reentrant: false the nested acquire waits for the outer one (and times out)', async () => {
      const locks = backend.service({ reentrant: false });
      const error = await locks
        .using('reentrant:off', () =>
          locks.using('reentrant:off', () => 'inner', { waitTimeout: 200 }),
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockNotAcquiredError);
      expect((error as LockNotAcquiredError).waitedMs).toBeGreaterThanOrEqual(200);
      expect(await locks.isLocked('reentrant:off')).toBe(false);
    });
  });

  describe('multi-key locks', () => {
    it('take all keys or none: holding "b" makes acquire(["a", "b"]) fail and leaves "a" unlocked', async () => {
      const locks = backend.service();
      const other = backend.peer(locks);
      const b = await other.acquire('multi:b');

      const error = await locks
        .acquire(['multi:a', 'multi:b'], { waitTimeout: 200 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockNotAcquiredError);
      expect(await locks.isLocked('multi:a')).toBe(false);
      expect(await locks.tryAcquire(['multi:a', 'multi:b'])).toBeNull();
      expect(await locks.isLocked('multi:a')).toBe(false);
      // "a" is really free: another caller takes it at once.
      const a = await other.acquire('multi:a', { waitTimeout: 0 });
      await a.release();
      await b.release();

      const both = await locks.acquire(['multi:a', 'multi:b'], { waitTimeout: 0 });
      expect(await locks.isLocked('multi:a')).toBe(true);
      expect(await locks.isLocked('multi:b')).toBe(true);
      await both.release();
    });

    it('conserves money over concurrent transfers between random pairs of 5 accounts', async () => {
      const accounts = ['acct:0', 'acct:1', 'acct:2', 'acct:3', 'acct:4'];
      for (const account of accounts) await backend.setValue(`balance:${account}`, 1000);
      const perRunner = 40;
      const reports = await backend.run<TransferReport>(
        'transfers',
        {
          accounts,
          count: perRunner,
          concurrency: 2,
          pauseMs: 2,
          lockOptions: { waitTimeout: 30_000 },
        },
        4,
      );
      expect(reports.map((r) => r.done)).toEqual([perRunner, perRunner, perRunner, perRunner]);

      let total = 0;
      for (const account of accounts) {
        const balance = await backend.value(`balance:${account}`);
        const moved = reports.reduce((sum, r) => sum + r.moved[account], 0);
        // No lost update: every account saw exactly the transfers that touched it.
        expect({ account, balance }).toEqual({ account, balance: 1000 + moved });
        total += balance;
      }
      expect(total).toBe(5000);
      if (backend.url) {
        // Nothing is left locked or queued: only the fencing counters remain.
        const left = await fixture.redis.keys('lock:*');
        expect(left.filter((k) => !isFenceCounter(k))).toEqual([]);
      }
    });
  });

  describe('read-write locks', () => {
    it('never lets a writer overlap anyone, and lets readers overlap', async () => {
      const reports = await backend.run<ReadWriteReport>(
        'readWrite',
        {
          key: 'rw:doc',
          count: 40,
          concurrency: 3,
          writeRatio: 0.25,
          holdMs: 5,
          lockOptions: { waitTimeout: 30_000 },
        },
        3,
      );
      const sum = (f: (r: ReadWriteReport) => number) => reports.reduce((n, r) => n + f(r), 0);
      expect(sum((r) => r.reads + r.writes)).toBe(3 * 40);
      expect(sum((r) => r.writes)).toBeGreaterThan(0);
      expect(sum((r) => r.violations)).toBe(0);
      expect(Math.max(...reports.map((r) => r.maxWriters))).toBe(1);
      expect(Math.max(...reports.map((r) => r.maxReaders))).toBeGreaterThan(1);
      expect(await backend.value('rw:rw:doc:readers')).toBe(0);
      expect(await backend.value('rw:rw:doc:writers')).toBe(0);
    });

    it('does not starve a writer behind a continuous stream of overlapping readers', async () => {
      const readerService = backend.service();
      const writerService = backend.peer(readerService);
      const key = 'rw:stream';
      let activeReaders = 0;
      let readersAtWrite = -1;
      let stop = false;
      let writerHolding = false;
      let readerDuringWrite = false;
      const readAt: number[] = [];
      const readers: Promise<void>[] = [];

      const stream = (async () => {
        while (!stop) {
          readers.push(
            readerService.using(
              key,
              async () => {
                if (writerHolding) readerDuringWrite = true;
                readAt.push(Date.now());
                activeReaders++;
                await sleep(60);
                activeReaders--;
              },
              { mode: 'read', waitTimeout: 10_000 },
            ),
          );
          await sleep(20);
        }
      })();

      await sleep(300);
      expect(activeReaders).toBeGreaterThan(1);
      const requestedBeforeAsk = readers.length;
      const writer = await writerService.acquire(key, { mode: 'write', waitTimeout: 3000 });
      writerHolding = true;
      readersAtWrite = activeReaders;
      const requestedWhileWaiting = readers.length - requestedBeforeAsk;
      const wroteAt = Date.now();
      await sleep(30);
      writerHolding = false;
      await writer.release();

      await sleep(200);
      stop = true;
      await stream;
      await Promise.all(readers);

      expect(readersAtWrite).toBe(0);
      expect(readerDuringWrite).toBe(false);
      // Readers kept coming while the writer waited, and kept being served after it.
      expect(requestedWhileWaiting).toBeGreaterThan(0);
      expect(readAt.filter((t) => t > wroteAt).length).toBeGreaterThan(2);
      expect(await readerService.isLocked(key)).toBe(false);
    });
  });

  describe('semaphores', () => {
    it('never admits more than n = 3 holders, and reaches 3', async () => {
      const reports = await backend.run<SemaphoreReport>(
        'semaphore',
        {
          key: 'sem:pool',
          permits: 3,
          count: 25,
          concurrency: 3,
          holdMs: 6,
          lockOptions: { waitTimeout: 30_000 },
        },
        3,
      );
      expect(reports.reduce((n, r) => n + r.done, 0)).toBe(3 * 25);
      expect(reports.reduce((n, r) => n + r.violations, 0)).toBe(0);
      expect(Math.max(...reports.map((r) => r.maxActive))).toBe(3);
      expect(await backend.value('sem:sem:pool:active')).toBe(0);
    });

    it('@WithSemaphore on a provider method limits its concurrency', async () => {
      const app = await nestApp(backend.url, Jobs);
      try {
        const jobs = app.get(Jobs);
        await Promise.all(Array.from({ length: 8 }, () => jobs.run('emails', 50)));
        expect(jobs.runs).toBe(8);
        expect(jobs.maxActive).toBe(2);
        // Another key is another semaphore.
        await Promise.all([jobs.run('emails', 150), jobs.run('emails', 150), jobs.run('sms', 150)]);
        expect(jobs.maxActive).toBe(3);
        expect(app.get(LockService).heldCount).toBe(0);
      } finally {
        await app.close();
      }
    });
  });
});

describe('semaphore permits of a killed process (redis store)', () => {
  const services: LockService[] = [];
  afterEach(async () => {
    await killAllWorkers();
    await closeAll(services.splice(0));
  });

  it('a holder killed with SIGKILL gives its permit back after its lease, then 3 new holders fit', async () => {
    const holders = lockKeys('sem:killed', 'sem:').holders;
    const locks = new LockService({ redis: fixture.server.url, recheckInterval: 200 });
    services.push(locks);
    const sem = locks.semaphore('sem:killed', 3);
    const mine = [await sem.acquire(), await sem.acquire()];

    const worker = spawnWorker('invariant-worker.js', {
      url: fixture.server.url,
      scenario: 'hold-permit',
      key: 'sem:killed',
      permits: 3,
      ttl: 300,
      autoExtend: false,
    });
    const { token: deadToken } = await worker.message('held');
    expect(await fixture.redis.zcard(holders)).toBe(3);
    await worker.kill();
    for (const permit of mine) await permit.release();

    // Three new holders, each from its own service: one of them waits for the dead permit.
    const newcomers = [0, 1, 2].map(() => {
      const s = new LockService({ redis: fixture.server.url, recheckInterval: 200 });
      services.push(s);
      return s.semaphore('sem:killed', 3);
    });
    const permits = await Promise.all(newcomers.map((s) => s.acquire({ waitTimeout: 3000 })));
    expect(await zmembers(fixture.redis, holders)).not.toContain(deadToken);
    expect(await fixture.redis.zcard(holders)).toBe(3);
    expect(await sem.tryAcquire()).toBeNull();
    for (const permit of permits) await permit.release();
    const again = await sem.tryAcquire();
    expect(again).not.toBeNull();
    await again?.release();
  });
});

describe('the checks above can fail', () => {
  it('transfers without the lock lose updates (memory store, in-process)', async () => {
    const tally = shared.memoryTally();
    const accounts = ['acct:0', 'acct:1', 'acct:2', 'acct:3', 'acct:4'];
    for (const account of accounts) await tally.set(`balance:${account}`, 1000);
    const locks = new LockService();
    const reports = (await Promise.all(
      Array.from({ length: 4 }, () =>
        shared.scenarios.transfers(locks, tally, {
          accounts,
          count: 40,
          concurrency: 2,
          pauseMs: 2,
          unlocked: true,
        }),
      ),
    )) as TransferReport[];
    let mismatches = 0;
    for (const account of accounts) {
      const moved = reports.reduce((sum, r) => sum + r.moved[account], 0);
      if ((await tally.get(`balance:${account}`)) !== 1000 + moved) mismatches++;
    }
    expect(mismatches).toBeGreaterThan(0);
    await locks.onApplicationShutdown();
  });
});
