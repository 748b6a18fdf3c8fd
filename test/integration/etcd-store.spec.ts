import { Etcd3 } from 'etcd3';
import { runLockStoreContract } from '../../lib/testing';
import { LockService } from '../../lib/lock.service';
import { EtcdLockStore } from '../../lib/stores/etcd/etcd-lock.store';
import { createEtcdStore } from '../../lib/stores/etcd/create-etcd-store';
import { EtcdCluster, startEtcdCluster } from '../support/etcd-server';

jest.setTimeout(60_000);

describe('etcd store on one real etcd member', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster(1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  // etcd leases are whole seconds (1 s at least): the suite's short leases are 1 s here.
  runLockStoreContract(
    'etcd',
    async () => {
      const store = createEtcdStore({ hosts: cluster.hosts }, 2_000);
      return { store, close: () => store.close() };
    },
    { readWrite: false, semaphore: false, idempotency: false, shortTtlMs: 1_000 },
  );

  it('drives LockService: acquire, wait in line, fencing tokens, release', async () => {
    const a = new LockService({ etcd: { hosts: cluster.hosts }, ttl: 5_000, waitTimeout: 5_000 });
    const b = new LockService({ etcd: { hosts: cluster.hosts }, ttl: 5_000, waitTimeout: 5_000 });
    try {
      const held = await a.acquire('etcd:svc');
      expect(await b.tryAcquire('etcd:svc')).toBeNull();
      expect(await b.isLocked('etcd:svc')).toBe(true);
      const started = Date.now();
      const waiting = b.acquire('etcd:svc');
      setTimeout(() => void held.release(), 200);
      const next = await waiting;
      // Woken by the watch on the key before it, not by a re-check a second later.
      expect(Date.now() - started).toBeLessThan(900);
      expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
      await next.release();
      expect(await a.isLocked('etcd:svc')).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps a lock past its lease while the watchdog renews it', async () => {
    const a = new LockService({ etcd: { hosts: cluster.hosts }, ttl: 1_000 });
    const b = new LockService({ etcd: { hosts: cluster.hosts }, ttl: 1_000 });
    try {
      await a.using('etcd:watchdog', async (lock) => {
        await new Promise((r) => setTimeout(r, 2_500));
        expect(lock.isHeld()).toBe(true);
        expect(await b.tryAcquire('etcd:watchdog')).toBeNull();
      });
      expect(await b.isLocked('etcd:watchdog')).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('takes an existing etcd3 client and leaves it open', async () => {
    const client = new Etcd3({ hosts: cluster.hosts });
    const locks = new LockService({ etcd: client });
    try {
      const lock = await locks.acquire('etcd:client');
      await lock.release();
      await locks.close();
      await client.put('still-open').value('yes');
      expect(await client.get('still-open').string()).toBe('yes');
    } finally {
      client.close();
    }
  });

  it('refuses read locks, semaphores and idempotency claims by name', async () => {
    const locks = new LockService({ etcd: { hosts: cluster.hosts } });
    try {
      await expect(locks.acquire('etcd:r', { mode: 'read' })).rejects.toThrow(
        /not supported on the etcd store/,
      );
      await expect(locks.semaphore('etcd:s', 2).acquire()).rejects.toThrow(
        /not supported on the etcd store/,
      );
    } finally {
      await locks.close();
    }
  });

  it('reports health as etcd with a round trip', async () => {
    const store = createEtcdStore({ hosts: cluster.hosts }, 2_000) as EtcdLockStore;
    try {
      const health = await store.health();
      expect(health.topology).toBe('etcd');
      expect(await store.checkSetup()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('the etcd option', () => {
  it('is mutually exclusive with the other stores', () => {
    expect(
      () => new LockService({ etcd: { hosts: ['http://x:2379'] }, redis: 'redis://x' }),
    ).toThrow(/`etcd` and `redis` are mutually exclusive/);
    expect(
      () =>
        new LockService({
          etcd: { hosts: ['http://x:2379'] },
          redlock: { masters: ['redis://a', 'redis://b', 'redis://c'] },
        }),
    ).toThrow(/mutually exclusive/);
  });

  it('needs hosts', () => {
    expect(() => new LockService({ etcd: { hosts: [] } })).toThrow(/`hosts` must be a non-empty/);
  });
});
