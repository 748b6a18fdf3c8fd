import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LockService, LockStoreUnavailableError } from '../../lib';
import { ensureBuilt } from '../support/build-once';
import { RedisMasters, startRedisMasters } from '../support/redis-masters';
import { RedisServer, startRedisServer } from '../support/redis-server';

const WORKER = join(__dirname, '..', 'support', 'redlock-counter-worker.js');
const PROCESSES = 4;
const ITERATIONS = 150;

interface WorkerReport {
  done: number;
  fencing: number[];
  staleFence: number;
  unavailable: number;
}

function runWorker(url: string, masters: string[]): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const args = [WORKER, url, String(ITERATIONS), masters.join(',')];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as WorkerReport);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Redlock under killed and stopped masters (five real redis-servers)', () => {
  let cluster: RedisMasters;
  let counter: RedisServer;
  let counterClient: Redis;

  beforeAll(async () => {
    ensureBuilt();
    cluster = await startRedisMasters(5);
    counter = await startRedisServer();
    counterClient = new Redis(counter.url);
  });
  afterAll(async () => {
    counterClient?.disconnect();
    await counter?.stop();
    await cluster?.close();
  });

  it('loses updates without the lock (the check below can fail)', async () => {
    await Promise.all(
      Array.from({ length: PROCESSES }, () => runWorker(counter.url, ['--unlocked'])),
    );
    expect(Number(await counterClient.get('shared:counter'))).toBeLessThan(PROCESSES * ITERATIONS);
    await counterClient.flushall();
  });

  it('4 processes lose no update with 2 of 5 masters SIGKILLed mid-run; 3 down fails closed; back (empty), tokens stay above', async () => {
    const running = Promise.all(
      Array.from({ length: PROCESSES }, () => runWorker(counter.url, cluster.urls)),
    );
    await sleep(300);
    await cluster.masters[1].kill();
    await cluster.masters[3].kill();
    const reports = await running;
    expect(Number(await counterClient.get('shared:counter'))).toBe(PROCESSES * ITERATIONS);
    expect(reports.reduce((n, r) => n + r.staleFence, 0)).toBe(0);
    const all = reports.flatMap((r) => r.fencing);
    expect(new Set(all).size).toBe(all.length);
    const highest = Math.max(...all);

    // A third master down: no majority, every call fails closed and nothing runs.
    await cluster.masters[4].kill();
    const locks = new LockService({
      redlock: { masters: cluster.urls },
      evictionPolicy: 'ignore',
      ttl: 2000,
    });
    try {
      let ran = 0;
      for (let i = 0; i < 5; i++) {
        const err = await locks
          .using('shared:counter', () => {
            ran++;
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockStoreUnavailableError);
      }
      expect(ran).toBe(0);

      // They come back empty: it works again, and the tokens stay above every earlier one.
      await Promise.all([1, 3, 4].map((i) => cluster.masters[i].restart()));
      let token = 0;
      for (let tries = 0; tries < 100 && token === 0; tries++) {
        token = await locks
          .using('shared:counter', (lock) => lock.fencingToken)
          .catch(() => sleep(100).then(() => 0));
      }
      expect(token).toBeGreaterThan(highest);
    } finally {
      await locks.close();
    }
  });

  it('a holder keeps its lock with one master SIGSTOPped past the lease; two stopped and one killed, it is lost by its deadline', async () => {
    const locks = new LockService({
      redlock: { masters: cluster.urls },
      evictionPolicy: 'ignore',
    });
    try {
      const lock = await locks.acquire('stopped', { ttl: 600 });
      cluster.masters[0].pause();
      await sleep(1500);
      expect(lock.isHeld()).toBe(true);
      cluster.masters[1].pause();
      await sleep(700);
      expect(lock.isHeld()).toBe(true);
      const aborted = new Promise<number>((resolve) =>
        lock.signal.addEventListener('abort', () => resolve(Date.now())),
      );
      await cluster.masters[2].kill();
      const at = await aborted;
      expect(at).toBeLessThanOrEqual(lock.validUntil + 50);
      expect(lock.isHeld()).toBe(false);
    } finally {
      cluster.masters[0].resume();
      cluster.masters[1].resume();
      await cluster.masters[2].restart();
      await locks.close();
    }
  });

  it('fencing tokens strictly increase over 1,000 acquisitions while masters are stopped, killed and restarted', async () => {
    const locks = new LockService({
      redlock: { masters: cluster.urls, masterTimeout: 30 },
      evictionPolicy: 'ignore',
      ttl: 1000,
    });
    const stopped = new Set<number>();
    try {
      let last = 0;
      let granted = 0;
      for (let i = 0; granted < 1000; i++) {
        if (i % 50 === 0) {
          // Change which masters answer: resume all, stop two others; now and then one of them
          // is killed and restarted empty instead (a majority keeps its data throughout).
          for (const s of stopped) cluster.masters[s].resume();
          stopped.clear();
          const order = [0, 1, 2, 3, 4].sort(() => Math.random() - 0.5);
          cluster.masters[order[0]].pause();
          stopped.add(order[0]);
          if (i % 200 === 100) await cluster.masters[order[1]].restart();
          else {
            cluster.masters[order[1]].pause();
            stopped.add(order[1]);
          }
        }
        const fence = await locks
          .using('monotonic', (lock) => lock.fencingToken)
          .catch((err: unknown) => {
            if (err instanceof LockStoreUnavailableError) return 0;
            throw err;
          });
        if (fence === 0) continue;
        expect(fence).toBeGreaterThan(last);
        last = fence;
        granted++;
      }
    } finally {
      for (const s of stopped) cluster.masters[s].resume();
      await locks.close();
    }
  });
});
