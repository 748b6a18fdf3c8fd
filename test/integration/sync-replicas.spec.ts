import { Redis } from 'ioredis';
import { LockService, LockStoreUnavailableError } from '../../lib';
import { RedisServer, startRedisServer } from '../support/redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A primary and one replica, both real redis-server processes on loopback. */
describe('syncReplicas: a new lock is confirmed by replicas (WAIT) before its holder gets it', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let replicaAdmin: Redis;
  const services: LockService[] = [];

  beforeAll(async () => {
    primary = await startRedisServer();
    replica = await startRedisServer();
    replicaAdmin = new Redis(replica.url);
    await replicaAdmin.replicaof('127.0.0.1', primary.port);
    for (;;) {
      const info = await replicaAdmin.info('replication');
      if (/master_link_status:up/.test(info)) break;
      await sleep(50);
    }
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    replicaAdmin.disconnect();
    await replica.stop();
    await primary.stop();
  });

  const service = (syncReplicas: number): LockService => {
    const s = new LockService({ redis: primary.url, syncReplicas, syncTimeout: 300 });
    services.push(s);
    return s;
  };

  it('the lock is on the replica by the time acquire resolves', async () => {
    const locks = service(1);
    for (let i = 0; i < 20; i++) {
      const lock = await locks.acquire(`sync:${i}`);
      expect(await replicaAdmin.get(`lock:{sync:${i}}`)).toBe(lock.token);
      await lock.release();
    }
  });

  it('fails closed, leaving nothing locked, when the replica does not confirm; without it the lock is granted', async () => {
    const replicaPid = Number(/process_id:(\d+)/.exec(await replicaAdmin.info('server'))![1]);
    process.kill(replicaPid, 'SIGSTOP');
    try {
      const synced = service(1);
      await expect(synced.acquire('sync:stalled')).rejects.toBeInstanceOf(
        LockStoreUnavailableError,
      );
      expect(await synced.isLocked('sync:stalled')).toBe(false);
      // A read lock is taken by the full acquire script, not the exclusive fast path.
      await expect(synced.acquire('sync:read', { mode: 'read' })).rejects.toBeInstanceOf(
        LockStoreUnavailableError,
      );
      expect(await synced.isLocked('sync:read')).toBe(false);
      const unsynced = service(0);
      const lock = await unsynced.acquire('sync:stalled');
      expect(lock.isHeld()).toBe(true);
      await lock.release();
    } finally {
      process.kill(replicaPid, 'SIGCONT');
    }
  });

  it('what it costs: acquire and release round trips with and without WAIT', async () => {
    const figures: Record<string, number> = {};
    for (const replicas of [0, 1, 0, 1]) {
      const locks = service(replicas);
      const started = performance.now();
      for (let i = 0; i < 200; i++) await (await locks.acquire(`cost:${replicas}:${i}`)).release();
      figures[`syncReplicas ${replicas}`] = (performance.now() - started) / 200;
    }
    // Figures for the README; the assertion is only that both work.
    console.log(
      `acquire+release, µs per cycle: ${Object.entries(figures)
        .map(([k, v]) => `${k}: ${Math.round(v * 1000)}`)
        .join(', ')}`,
    );
    expect(Object.keys(figures)).toHaveLength(2);
  });
});
