import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { runLockStoreContract } from '../../lib/testing';
import { MemoryLockStore } from '../../lib/stores/memory-lock.store';
import { PostgresLockStore } from '../../lib/stores/postgres/postgres-lock.store';
import { RedisLockStore } from '../../lib/stores/redis-lock.store';
import { PostgresServer, startPostgresServer } from '../support/postgres-server';
import { useRedisServer } from '../support/use-redis-server';

runLockStoreContract('memory', async () => {
  const store = new MemoryLockStore();
  return { store, close: () => store.close() };
});

describe('on a real redis-server', () => {
  const fixture = useRedisServer();
  runLockStoreContract('Redis', async () => {
    const store = new RedisLockStore(new Redis(fixture.server.url), true, 2_000);
    return { store, close: () => store.close() };
  });
});

describe('on a real PostgreSQL server', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgresServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  runLockStoreContract(
    'PostgreSQL',
    async () => {
      const store = new PostgresLockStore(new Pool({ connectionString: server.url }), true, {
        commandTimeoutMs: 2_000,
      });
      return { store, close: () => store.close() };
    },
    { readWrite: false, semaphore: false },
  );
});
