import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { LockService, LockStoreUnavailableError } from '../../lib';
import { lockResource } from '../../lib/stores/lock-resource';
import { PostgresLockStore } from '../../lib/stores/postgres/postgres-lock.store';
import { ensureBuilt } from '../support/build-once';
import { PostgresServer, startPostgresServer } from '../support/postgres-server';

const WORKER = join(__dirname, '..', 'support', 'postgres-counter-worker.js');
const PROCESSES = 4;
const ITERATIONS = 100;

interface WorkerReport {
  done: number;
  fencing: number[];
  staleFence: number;
}

function runWorker(url: string, mode?: string): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const args = [WORKER, url, String(ITERATIONS), ...(mode ? [mode] : [])];
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

describe('PostgreSQL store (real PostgreSQL server)', () => {
  let server: PostgresServer;
  let pool: Pool;
  const services: LockService[] = [];
  const service = (options: ConstructorParameters<typeof LockService>[0] = {}): LockService => {
    const s = new LockService({ postgres: server.url, ...options });
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    ensureBuilt();
    server = await startPostgresServer();
    pool = new Pool({ connectionString: server.url });
    pool.on('error', () => undefined);
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop('immediate');
  });

  describe('mutual exclusion across processes', () => {
    beforeEach(async () => {
      await pool.query('CREATE TABLE IF NOT EXISTS counter (name text PRIMARY KEY, value bigint)');
      await pool.query('TRUNCATE counter');
      await pool.query(`INSERT INTO counter VALUES ('counter', 0), ('last-fence', 0)`);
    });

    it('loses updates without the lock (the check below can fail)', async () => {
      await Promise.all(
        Array.from({ length: PROCESSES }, () => runWorker(server.url, '--unlocked')),
      );
      const { rows } = await pool.query(`SELECT value FROM counter WHERE name = 'counter'`);
      expect(Number(rows[0].value)).toBeLessThan(PROCESSES * ITERATIONS);
    });

    it(`loses no update when ${PROCESSES} processes read, pause and write under the lock`, async () => {
      const reports = await Promise.all(
        Array.from({ length: PROCESSES }, () => runWorker(server.url)),
      );
      const { rows } = await pool.query(`SELECT value FROM counter WHERE name = 'counter'`);
      expect(Number(rows[0].value)).toBe(PROCESSES * ITERATIONS);
      expect(reports.map((r) => r.done)).toEqual(Array(PROCESSES).fill(ITERATIONS));
      expect(reports.reduce((n, r) => n + r.staleFence, 0)).toBe(0);
      const all = reports.flatMap((r) => r.fencing);
      expect(new Set(all).size).toBe(all.length);
      const left = await pool.query('SELECT count(*)::int AS n FROM nestjs_distributed_lock');
      expect(left.rows[0].n).toBe(0);
      const waiting = await pool.query(
        'SELECT count(*)::int AS n FROM nestjs_distributed_lock_waiter',
      );
      expect(waiting.rows[0].n).toBe(0);
    });
  });

  it('works through the module option: acquire, fencing, isLocked, a waiter woken', async () => {
    const a = service();
    const b = service();
    const first = await a.acquire('order:1', { ttl: 5_000 });
    expect(await b.isLocked('order:1')).toBe(true);
    const waiting = b.acquire('order:1', { ttl: 5_000, waitTimeout: 5_000 });
    await sleep(100);
    const released = Date.now();
    await first.release();
    const second = await waiting;
    // Woken by NOTIFY, not by the re-check interval (1 s).
    expect(Date.now() - released).toBeLessThan(500);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
    expect(await a.isLocked('order:1')).toBe(false);
  });

  it('refuses read locks and semaphores by name', async () => {
    const s = service();
    await expect(s.acquire('r', { mode: 'read' })).rejects.toThrow(
      /Read locks are not supported on the PostgreSQL store/,
    );
    await expect(s.semaphore('s', 2).acquire()).rejects.toThrow(
      /Semaphores are not supported on the PostgreSQL store/,
    );
  });

  it('refuses postgres with redis at boot, and a malformed URL', () => {
    expect(() => new LockService({ postgres: server.url, redis: 'redis://127.0.0.1:1' })).toThrow(
      /`redis` and `postgres` are mutually exclusive/,
    );
    expect(() => new LockService({ postgres: 'mysql://x' })).toThrow(
      /must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
  });

  it('takes an existing pg.Pool and never closes it', async () => {
    const own = new Pool({ connectionString: server.url });
    const s = new LockService({ postgres: own });
    await s.using('pool', async () => undefined);
    await s.close();
    expect((await own.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await own.end();
  });

  it('tells a holder whose connection is killed that its lock is lost at its lease end', async () => {
    await pool.query(`DROP ROLE IF EXISTS holder`);
    await pool.query(`CREATE ROLE holder LOGIN SUPERUSER`);
    const url = server.url.replace('postgres@', 'holder@');
    const holder = service({ postgres: url, ttl: 1_500, commandTimeout: 300 });
    const other = service({ ttl: 5_000 });
    const lock = await holder.acquire('killed');
    const acquiredAt = Date.now();
    const lost = new Promise<number>((resolve) =>
      lock.signal.addEventListener('abort', () => resolve(Date.now()), { once: true }),
    );
    // Cut off: its connections are terminated, and it cannot open new ones.
    await pool.query(`ALTER ROLE holder NOLOGIN`);
    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'holder'`,
    );
    const lostAt = await lost;
    // Told by its lease end (a timer on a loaded machine may fire a little late).
    expect(lostAt - acquiredAt).toBeLessThanOrEqual(1_500 + 250);
    expect(lostAt).toBeLessThanOrEqual(lock.validUntil + 250);
    expect(lock.isHeld()).toBe(false);
    // The lease ended on the database too: another instance takes the lock.
    const next = await other.acquire('killed', { waitTimeout: 3_000 });
    expect(next.fencingToken).toBeGreaterThan(lock.fencingToken);
    await next.release();
  });

  it('fails closed with 503 while the database is down, and recovers after a restart', async () => {
    const s = service({ ttl: 10_000, commandTimeout: 500 });
    const lock = await s.acquire('restart', { autoExtend: false });
    await server.halt('fast');
    try {
      const err = await s.acquire('other', { waitTimeout: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockStoreUnavailableError);
      expect((err as LockStoreUnavailableError).getStatus()).toBe(503);
      await expect(s.isLocked('restart')).rejects.toBeInstanceOf(LockStoreUnavailableError);
    } finally {
      await server.resume();
    }
    // The lease table is on disk: the lock survived the restart, and its holder still owns it.
    expect(await s.isLocked('restart')).toBe(true);
    await lock.extend(10_000);
    expect(lock.isHeld()).toBe(true);
    await lock.release();
    const again = await s.acquire('restart', { waitTimeout: 1_000 });
    expect(again.fencingToken).toBeGreaterThan(lock.fencingToken);
    await again.release();
  });

  it('sweeps rows whose lease ended, so that nothing grows without bound', async () => {
    const store = new PostgresLockStore(new Pool({ connectionString: server.url }), true, {
      commandTimeoutMs: 1_000,
      sweepIntervalMs: 200,
    });
    try {
      for (let i = 0; i < 50; i++) {
        const resource = lockResource('sweep:', '', `abandoned:${i}`, 'x');
        await store.acquireFast(resource, `t${i}`, 50);
        await store.acquire(resource, `w${i}`, 50, 50);
      }
      await sleep(1_600);
      const { rows } = await pool.query(
        `SELECT (SELECT count(*) FROM nestjs_distributed_lock WHERE id LIKE 'sweep:%')
              + (SELECT count(*) FROM nestjs_distributed_lock_waiter WHERE id LIKE 'sweep:%') AS n`,
      );
      expect(Number(rows[0].n)).toBe(0);
    } finally {
      await store.close();
    }
  });
});
