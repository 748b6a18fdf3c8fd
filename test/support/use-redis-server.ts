import { Redis } from 'ioredis';
import { ensureBuilt } from './build-once';
import { RedisServer, startRedisServer } from './redis-server';

export interface RedisFixture {
  /** The test file's own redis-server (set in `beforeAll`). */
  readonly server: RedisServer;
  /** A plain client on it, for looking at keys. */
  readonly redis: Redis;
}

/**
 * Registers the hooks that give a test file (or describe block) one redis-server and a client,
 * stopped afterwards: `build` first builds `dist/` for child processes, `flush` empties the
 * server before each test.
 */
export function useRedisServer(options: { build?: boolean; flush?: boolean } = {}): RedisFixture {
  const fixture = {} as { server: RedisServer; redis: Redis };
  beforeAll(async () => {
    if (options.build) ensureBuilt();
    fixture.server = await startRedisServer();
    fixture.redis = new Redis(fixture.server.url);
  });
  afterAll(async () => {
    fixture.redis?.disconnect();
    await fixture.server?.stop();
  });
  if (options.flush) {
    beforeEach(async () => {
      await fixture.redis.flushall();
    });
  }
  return fixture;
}
