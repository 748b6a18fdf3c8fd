// Contenders of the other stores (S9 Redlock, S10 PostgreSQL, S11 etcd): this library on each,
// the peers that run Redlock over the same masters, and each store's own floor.
import { randomBytes } from 'node:crypto';
import { LockNotAcquiredError, LockService } from '../../lib';
import type { DistributedLockModuleOptions } from '../../lib';
import {
  type Contender,
  LEASE_MS,
  packageVersion,
  PEER_RETRY_DELAY_MS,
  PEER_RETRY_JITTER_MS,
  type Release,
} from './contender';
import { FLOOR_POLL_MS } from './floor';
import { redlockV5Like, type RedlockV5Constructor } from './redlock-v5-like';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Unique per acquisition: a random per-process prefix and a counter. */
function tokens(): () => string {
  const prefix = randomBytes(8).toString('hex');
  let counter = 0;
  return () => `${prefix}:${++counter}`;
}

/** This library on another store: `new LockService(options(url))`, its defaults otherwise. */
function libraryOn(
  id: string,
  name: string,
  settings: string,
  options: (url: string) => DistributedLockModuleOptions,
): Contender {
  let service: LockService | undefined;
  return {
    id,
    name,
    version: 'this repo',
    settings,
    async setup(url) {
      service = new LockService(options(url));
    },
    async acquire(key, waitMs): Promise<Release | null> {
      if (!service) throw new Error('not set up');
      if (waitMs === 0) {
        const lock = await service.tryAcquire(key);
        return lock ? () => lock.release() : null;
      }
      try {
        const lock = await service.acquire(key, { waitTimeout: waitMs });
        return () => lock.release();
      } catch (err) {
        if (err instanceof LockNotAcquiredError) return null;
        throw err;
      }
    },
    async close() {
      await service?.onApplicationShutdown();
      service = undefined;
    },
  };
}

const REDLOCK_PEER_SETTINGS = `one ioredis client per master (5); retryDelay ${PEER_RETRY_DELAY_MS} ms, retryJitter ${PEER_RETRY_JITTER_MS} ms (package defaults 200/100 ms), retryCount = wait / retryDelay; lease ${LEASE_MS / 1000} s, no renewal (acquire/release API)`;

/** S9: `setup` gets the five masters' URLs separated by commas. */
export const REDLOCK_CONTENDERS: Record<string, () => Contender> = {
  'rl-redlock5': () =>
    redlockV5Like(
      {
        id: 'rl-redlock5',
        name: 'redlock v5 (5 masters)',
        version: packageVersion('redlock5'),
        settings: REDLOCK_PEER_SETTINGS,
      },
      async () => (await import('redlock5')).default as RedlockV5Constructor,
    ),
  'rl-lib': () =>
    libraryOn(
      'rl-lib',
      'this library, Redlock (5 masters)',
      'new LockService({ redlock: { masters } }), its defaults: 30 s lease, watchdog renewal, validity check, fencing token written back to a majority (the second round), waiting by jittered retries woken over pub/sub',
      (url) => ({ redlock: { masters: url.split(',') } }),
    ),
  'rl-sesamecare': () =>
    redlockV5Like(
      {
        id: 'rl-sesamecare',
        name: '@sesamecare-oss/redlock (5 masters)',
        version: packageVersion('@sesamecare-oss/redlock'),
        settings: REDLOCK_PEER_SETTINGS,
      },
      async () =>
        (await import('@sesamecare-oss/redlock')).Redlock as unknown as RedlockV5Constructor,
    ),
};

interface PgPool {
  query(text: string, values?: unknown[]): Promise<{ rowCount: number | null }>;
  end(): Promise<void>;
}

const PG_FLOOR_TABLE = 'bench_floor_lock';

/**
 * The least a correct PostgreSQL lease lock does: one `INSERT … ON CONFLICT DO UPDATE … WHERE
 * expires_at < clock_timestamp()` to acquire, an owner-checked `DELETE` to release, on a plain
 * table, through a `pg.Pool` (its default 10 connections), polling every 2 ms while waiting.
 * No fencing, no queue, no renewal.
 */
function postgresFloor(): Contender {
  let pool: PgPool | undefined;
  const nextToken = tokens();
  const acquireSql = `INSERT INTO ${PG_FLOOR_TABLE} AS l (id, token, expires_at)
VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE l.expires_at < clock_timestamp()`;
  const releaseSql = `DELETE FROM ${PG_FLOOR_TABLE} WHERE id = $1 AND token = $2`;
  return {
    id: 'pg-floor',
    name: 'floor (bare SQL on pg)',
    version: packageVersion('pg'),
    settings: `pg.Pool (10 connections); acquire INSERT … ON CONFLICT (id) DO UPDATE … WHERE expires_at < clock_timestamp() (lease ${LEASE_MS / 1000} s), release DELETE … WHERE id AND token; polls every ${FLOOR_POLL_MS} ms while waiting; no fencing, no queue, no renewal`,
    async setup(url) {
      const { Pool } = (await import('pg')).default;
      const created = new Pool({ connectionString: url });
      created.on('error', () => undefined);
      pool = created as unknown as PgPool;
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${PG_FLOOR_TABLE} (id text PRIMARY KEY, token text NOT NULL, expires_at timestamptz NOT NULL)`,
      );
    },
    async acquire(key, waitMs): Promise<Release | null> {
      const db = pool;
      if (!db) throw new Error('not set up');
      const token = nextToken();
      const deadline = Date.now() + waitMs;
      for (;;) {
        if ((await db.query(acquireSql, [key, token, LEASE_MS])).rowCount === 1) {
          return () => db.query(releaseSql, [key, token]);
        }
        if (Date.now() >= deadline) return null;
        await sleep(FLOOR_POLL_MS);
      }
    },
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}

/** S10: `setup` gets a `postgres://` URL. */
export const POSTGRES_CONTENDERS: Record<string, () => Contender> = {
  'pg-floor': postgresFloor,
  'pg-lib': () =>
    libraryOn(
      'pg-lib',
      'this library, PostgreSQL',
      'new LockService({ postgres: url }), its defaults: 30 s lease, watchdog renewal, fencing from a sequence, FIFO wait table woken by LISTEN/NOTIFY, its own pg.Pool (10 connections)',
      (url) => ({ postgres: url }),
    ),
};

/**
 * The least a correct etcd lock does: put-if-absent in one transaction
 * (`if(key, 'Create', '==', 0).then(put(key).lease(id))`) and an owner-checked delete
 * (`if(key, 'Value', '==', token).then(delete(key))`); one lease per process, granted at setup
 * and kept alive by etcd3, so a dead process's locks end with it; polling every 2 ms while
 * waiting. No fencing, no queue.
 */
function etcdFloor(): Contender {
  let client: import('etcd3').Etcd3 | undefined;
  let lease: import('etcd3').Lease | undefined;
  let leaseId = '';
  const nextToken = tokens();
  return {
    id: 'etcd-floor',
    name: 'floor (bare etcd3 transactions)',
    version: packageVersion('etcd3'),
    settings: `one lease per process (${LEASE_MS / 1000} s, granted at setup, kept alive); acquire: Txn if(key Create == 0) then put(key, token, lease); release: Txn if(key Value == token) then delete; polls every ${FLOOR_POLL_MS} ms while waiting; no fencing, no queue`,
    async setup(url) {
      const { Etcd3 } = await import('etcd3');
      client = new Etcd3({ hosts: url.split(',') });
      lease = client.lease(LEASE_MS / 1000);
      lease.on('lost', () => undefined);
      leaseId = await lease.grant();
    },
    async acquire(key, waitMs): Promise<Release | null> {
      const etcd = client;
      if (!etcd) throw new Error('not set up');
      const token = nextToken();
      const deadline = Date.now() + waitMs;
      for (;;) {
        const result = await etcd
          .if(key, 'Create', '==', 0)
          .then(etcd.put(key).value(token).lease(leaseId))
          .commit();
        if (result.succeeded) {
          return () => etcd.if(key, 'Value', '==', token).then(etcd.delete().key(key)).commit();
        }
        if (Date.now() >= deadline) return null;
        await sleep(FLOOR_POLL_MS);
      }
    },
    async close() {
      await lease?.revoke().catch(() => undefined);
      client?.close();
      client = lease = undefined;
    },
  };
}

/** S11: `setup` gets the etcd members' client URLs separated by commas. */
export const ETCD_CONTENDERS: Record<string, () => Contender> = {
  'etcd-floor': etcdFloor,
  'etcd-lib': () =>
    libraryOn(
      'etcd-lib',
      'this library, etcd',
      "new LockService({ etcd: { hosts } }), its defaults: 30 s lease per acquisition (etcd's lock recipe: a key of its own on a lease of its own, keep-alive renewal, revoke as release), fencing = the revision that made it holder, FIFO waiting by a watch on the previous key",
      (url) => ({ etcd: { hosts: url.split(',') } }),
    ),
};
