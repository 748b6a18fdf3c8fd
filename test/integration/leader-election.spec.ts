import { Injectable, INestApplicationContext, Logger } from '@nestjs/common';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import {
  DistributedLockModule,
  LeaderElection,
  LeaderElectionService,
  LeaderOnly,
  LeadershipChange,
  LOCK_EVENT_CHANNELS,
  LockService,
} from '../../lib';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { isFenceCounter } from '../support/fence-keys';
import { killAllWorkers, spawnWorker, waitUntil, Worker } from '../support/spawn-worker';
import { startTcpProxy, TcpProxy } from '../support/tcp-proxy';
import { useRedisServer } from '../support/use-redis-server';

const LEASE = 1_000;
const RECHECK = 100;
/** A successor is elected within about one lease (plus a re-check) of a leader's end. */
const FAILOVER_BOUND = LEASE + 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Samples `leaders()` every 10 ms while `during` runs; resolves the counts seen. */
async function sampleWhile(leaders: () => number, during: Promise<unknown>): Promise<number[]> {
  const counts: number[] = [];
  let done = false;
  void during.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    counts.push(leaders());
    await sleep(10);
  }
  await during;
  return counts;
}

describe('leader election', () => {
  const fixture = useRedisServer({ build: true, flush: true });

  const leftoverKeys = async (): Promise<string[]> =>
    (await fixture.redis.keys('*')).filter((key) => !isFenceCounter(key));

  afterEach(async () => {
    await killAllWorkers();
  });

  describe('validation', () => {
    let locks: LockService;
    let elections: LeaderElectionService;

    beforeAll(() => {
      locks = new LockService({ redis: fixture.server.url });
      elections = new LeaderElectionService(locks);
    });

    afterAll(async () => {
      await elections.close();
      await locks.close();
    });

    it('rejects bad names and options with TypeErrors that name the problem', () => {
      expect(() => elections.election('')).toThrow(
        new TypeError(
          'LeaderElectionService.election: the leadership name must be a non-empty string, got "".',
        ),
      );
      expect(() => elections.election(42 as unknown as string)).toThrow(/must be a non-empty/);
      expect(() => LeaderOnly(undefined as unknown as string)).toThrow(
        /@LeaderOnly: the leadership name must be a non-empty string, got undefined/,
      );
      expect(() => elections.election('a', { lease: 0 })).toThrow(/`lease` must be an integer/);
      expect(() => elections.election('a', { retryDelay: -1 })).toThrow(/`retryDelay`/);
      expect(() => elections.election('a', { leese: 10 } as never)).toThrow(
        /Unknown LeaderElection option `leese`: did you mean `lease`\?/,
      );
      expect(() => elections.election('a', { retryDelay: 500, maxRetryDelay: 100 })).toThrow(
        /`maxRetryDelay` \(100\) must not be less than `retryDelay` \(500\)/,
      );
      expect(() => elections.election('a', 'fast' as never)).toThrow(TypeError);
      const a = elections.election('a', { lease: 2_000 });
      expect(elections.election('a')).toBe(a);
      expect(() => elections.election('a', { lease: 3_000 })).toThrow(
        /already exists with other options/,
      );
      expect(() => a.onElected('x' as never)).toThrow(/listener must be a function/);
    });

    it('rejects @LeaderOnly on a property or a static method', () => {
      expect(() => {
        class Job {
          @LeaderOnly('x')
          static run(): void {}
        }
        void Job;
      }).toThrow(
        new TypeError('@LeaderOnly on Job.run: only instance methods can be leader-only.'),
      );
      expect(() =>
        LeaderOnly('x')({}, 'value', { value: 42 } as TypedPropertyDescriptor<number>),
      ).toThrow(/only methods can be leader-only/);
    });
  });

  describe('three Nest applications with a @LeaderOnly job', () => {
    @Injectable()
    class ReportJob {
      runs = 0;

      @LeaderOnly('report')
      async run(): Promise<string> {
        this.runs++;
        return 'ran';
      }
    }

    let apps: INestApplicationContext[];
    const electionOf = (app: INestApplicationContext): LeaderElection =>
      app.get(LeaderElectionService).election('report');
    const leaderCount = (): number => apps.filter((app) => electionOf(app).isLeader()).length;

    beforeEach(async () => {
      apps = [];
      for (let i = 0; i < 3; i++) {
        const moduleRef = await Test.createTestingModule({
          imports: [
            DistributedLockModule.forRoot({
              redis: fixture.server.url,
              ttl: LEASE,
              recheckInterval: RECHECK,
            }),
          ],
          providers: [ReportJob],
        }).compile();
        apps.push(await moduleRef.init());
      }
    });

    afterEach(async () => {
      await Promise.all(apps.map((app) => app.close()));
    });

    it('campaigns from the start and has exactly one leader at every sample', async () => {
      // No call was made: the application's start alone elected a leader.
      await waitUntil(() => leaderCount() === 1, 'a leader is elected', 3_000);
      const counts = await sampleWhile(leaderCount, sleep(3 * LEASE));
      expect(counts.length).toBeGreaterThan(50);
      expect(new Set(counts)).toEqual(new Set([1]));
    });

    it('runs a @LeaderOnly method on exactly one instance per call round', async () => {
      await waitUntil(() => leaderCount() === 1, 'a leader is elected', 3_000);
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all(apps.map((app) => app.get(ReportJob).run()));
        expect(results.filter((r) => r === 'ran')).toHaveLength(1);
        expect(results.filter((r) => r === undefined)).toHaveLength(2);
        await sleep(50);
      }
      const runs = apps.map((app) => app.get(ReportJob).runs).sort();
      expect(runs).toEqual([0, 0, 10]);
    });

    it('passes leadership on when the leader stops or its application closes, and leaves nothing', async () => {
      await waitUntil(() => leaderCount() === 1, 'a leader is elected', 3_000);
      const changes: LeadershipChange[] = [];
      for (const app of apps) electionOf(app).changes.subscribe((c) => changes.push(c));
      // The same changes go out on node:diagnostics_channel.
      const published: unknown[] = [];
      const onLeadership = (message: unknown) => published.push(message);
      subscribe(LOCK_EVENT_CHANNELS.leadership, onLeadership);

      // stop(): resigns at once, so the next in line is elected without waiting for the lease.
      const first = apps.find((app) => electionOf(app).isLeader())!;
      const stopped = Date.now();
      const counts = await sampleWhile(leaderCount, electionOf(first).stop());
      expect(electionOf(first).isLeader()).toBe(false);
      expect(first.get(LockService).heldCount).toBe(0);
      await waitUntil(() => leaderCount() === 1, 'a successor is elected', FAILOVER_BOUND);
      expect(Date.now() - stopped).toBeLessThan(LEASE);
      expect(Math.max(...counts)).toBeLessThanOrEqual(1);
      expect(await first.get(ReportJob).run()).toBeUndefined();

      // Closing the leader's application resigns too.
      const second = apps.find((app) => electionOf(app).isLeader())!;
      const closed = Date.now();
      await second.close();
      apps = apps.filter((app) => app !== second);
      await waitUntil(() => leaderCount() === 1, 'a third leader is elected', FAILOVER_BOUND);
      expect(Date.now() - closed).toBeLessThan(LEASE);

      expect(changes.map((c) => [c.leader, c.reason])).toEqual([
        [false, 'resigned'],
        [true, 'elected'],
        [false, 'resigned'],
        [true, 'elected'],
      ]);
      unsubscribe(LOCK_EVENT_CHANNELS.leadership, onLeadership);
      expect(published).toEqual(changes.map((c) => ({ type: 'leadership', ...c })));
      // Each term's fencing token is larger than the one before.
      const tokens = changes.filter((c) => c.leader).map((c) => c.fencingToken);
      expect(tokens[1]).toBeGreaterThan(tokens[0]);

      for (const app of apps) await app.get(LeaderElectionService).close();
      for (const app of apps) expect(app.get(LockService).heldCount).toBe(0);
      expect(leaderCount()).toBe(0);
      expect(await leftoverKeys()).toEqual([]);
    });
  });

  describe('an @Interval job marked @LeaderOnly in three applications', () => {
    @Injectable()
    class SweepJob {
      runs = 0;

      @Interval(50)
      @LeaderOnly('sweep')
      async sweep(): Promise<void> {
        this.runs++;
      }
    }

    it('runs on the leader alone, from the start', async () => {
      const apps: INestApplicationContext[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const moduleRef = await Test.createTestingModule({
            imports: [
              ScheduleModule.forRoot(),
              DistributedLockModule.forRoot({
                redis: fixture.server.url,
                ttl: LEASE,
                recheckInterval: RECHECK,
              }),
            ],
            providers: [SweepJob],
          }).compile();
          apps.push(await moduleRef.init());
        }
        await sleep(1_000);
        const runs = apps.map((app) => app.get(SweepJob).runs);
        const leaders = apps.map((app) => app.get(LeaderElectionService).isLeader('sweep'));
        expect(leaders.filter(Boolean)).toHaveLength(1);
        expect(runs[leaders.indexOf(true)]).toBeGreaterThan(10);
        expect(runs.filter((n) => n > 0)).toHaveLength(1);
      } finally {
        await Promise.all(apps.map((app) => app.close()));
      }
      expect(await leftoverKeys()).toEqual([]);
    });
  });

  describe('LockService instances behind proxies', () => {
    let proxies: TcpProxy[];
    let services: LockService[];
    let elections: LeaderElection[];
    const leaderCount = (): number => elections.filter((e) => e.isLeader()).length;

    beforeEach(async () => {
      proxies = [];
      services = [];
      elections = [];
      for (let i = 0; i < 3; i++) {
        const proxy = await startTcpProxy(fixture.server.port);
        const locks = new LockService({
          redis: `redis://127.0.0.1:${proxy.port}`,
          ttl: LEASE,
          recheckInterval: RECHECK,
          commandTimeout: 200,
        });
        proxies.push(proxy);
        services.push(locks);
        elections.push(new LeaderElection(locks, 'ingest', { retryDelay: 50 }));
      }
    });

    afterEach(async () => {
      await Promise.all(elections.map((e) => e.stop()));
      await Promise.all(services.map((s) => s.close()));
      await Promise.all(proxies.map((p) => p.close()));
    });

    it('deposes a leader whose Redis link is cut by its lease end, and elects another within about one lease', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const changes = elections.map(() => [] as LeadershipChange[]);
      elections.forEach((e, i) => {
        e.onElected((c) => changes[i].push(c));
        e.onDeposed((c) => changes[i].push(c));
        e.start();
      });
      await waitUntil(() => leaderCount() === 1, 'a leader is elected', 3_000);
      const old = elections.findIndex((e) => e.isLeader());
      const term = elections[old].currentTerm!;
      expect(term.signal.aborted).toBe(false);

      const cutAt = Date.now();
      proxies[old].cut();
      // Sampled all along: the old leader is deposed (by its own lease end) before anyone else
      // is elected, however long the link stays cut.
      const counts = await sampleWhile(
        leaderCount,
        waitUntil(
          () => elections.some((e, i) => i !== old && e.isLeader()),
          'another instance is elected',
          FAILOVER_BOUND,
        ),
      );
      expect(Date.now() - cutAt).toBeLessThan(FAILOVER_BOUND);
      expect(Math.max(...counts)).toBeLessThanOrEqual(1);
      expect(elections[old].isLeader()).toBe(false);
      expect(term.signal.aborted).toBe(true);
      expect(changes[old].map((c) => c.reason)).toEqual(['elected', 'lost']);
      // While cut, the old leader keeps campaigning, with back-off.
      await sleep(500);
      expect(warn.mock.calls.some(([m]) => /Campaign for leadership "ingest" failed/.test(m))).toBe(
        true,
      );

      // Healed, it rejoins the queue; there is still exactly one leader.
      proxies[old].heal();
      const healed = await sampleWhile(leaderCount, sleep(2 * LEASE));
      expect(new Set(healed)).toEqual(new Set([1]));

      // stop() leaves no lock, no place in the queue and no campaign behind.
      warn.mockClear();
      await Promise.all(elections.map((e) => e.stop()));
      expect(leaderCount()).toBe(0);
      expect(services.map((s) => s.heldCount)).toEqual([0, 0, 0]);
      await waitUntil(async () => (await leftoverKeys()).length === 0, 'no keys are left', 3_000);
      await sleep(3 * 50);
      expect(warn).not.toHaveBeenCalled();
      warn.mockRestore();
    });

    it('campaigns through a Redis outage and is elected once the store is back', async () => {
      for (const proxy of proxies) proxy.cut();
      for (const e of elections) e.start();
      await sleep(600);
      expect(leaderCount()).toBe(0);
      for (const proxy of proxies) proxy.heal();
      await waitUntil(() => leaderCount() === 1, 'a leader is elected after the outage', 5_000);
      const counts = await sampleWhile(leaderCount, sleep(LEASE));
      expect(new Set(counts)).toEqual(new Set([1]));
    });
  });

  describe('leader processes', () => {
    const startWorkers = async (count: number): Promise<Worker[]> => {
      const workers = Array.from({ length: count }, () =>
        spawnWorker('leader-worker.js', {
          url: fixture.server.url,
          name: 'billing',
          lease: LEASE,
          recheckInterval: RECHECK,
        }),
      );
      await Promise.all(workers.map((w) => w.message('ready')));
      return workers;
    };

    it('elects another process within about one lease when the leader is SIGKILLed', async () => {
      const workers = await startWorkers(3);
      const elected = await firstElected(workers, 5_000);
      const leader = elected.worker;
      const others = workers.filter((w) => w !== leader);
      // No second leader while the first is alive.
      await sleep(LEASE);
      expect(await anyElected(others, 0)).toBe(false);

      const killedAt = Date.now();
      await leader.kill();
      const next = await firstElected(others, FAILOVER_BOUND + 1_000);
      expect(next.at - killedAt).toBeLessThan(FAILOVER_BOUND);
      expect(next.fencingToken).toBeGreaterThan(elected.fencingToken);
      // Exactly one successor.
      await sleep(LEASE);
      expect(
        await anyElected(
          others.filter((w) => w !== next.worker),
          0,
        ),
      ).toBe(false);

      for (const w of others) w.go();
      for (const w of others) await expect(w.result()).resolves.toMatchObject({ heldCount: 0 });
      expect(await leftoverKeys()).toEqual([]);
    });
  });
});

interface Elected {
  worker: Worker;
  at: number;
  fencingToken: number;
}

/** The first of `workers` to report an election. */
async function firstElected(workers: Worker[], timeoutMs: number): Promise<Elected> {
  return Promise.any(
    workers.map(async (worker) => {
      const m = await worker.message('elected', timeoutMs);
      return { worker, at: m.at as number, fencingToken: m.fencingToken as number };
    }),
  );
}

/** Whether any of `workers` has reported an election (within `timeoutMs`). */
async function anyElected(workers: Worker[], timeoutMs: number): Promise<boolean> {
  const seen = await Promise.all(
    workers.map((w) =>
      w.message('elected', Math.max(1, timeoutMs)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return seen.some(Boolean);
}
