import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { type Contender, LEASE_MS, type Release } from './contender';

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** How often the floor polls a held lock. */
export const FLOOR_POLL_MS = 2;

/** Opens the connection a contender uses (S7: an ioredis Cluster client). */
export type Connect = (url: string) => Promise<Redis | Cluster>;

/**
 * The least a correct single-Redis lock does: `SET key token NX PX ttl`, an owner-checked delete
 * by `EVALSHA` (script loaded once at setup, on every master of a Cluster), and waiting by
 * polling every 2 ms. No renewal. `connect`: another client than `new Redis(url)`, with the id
 * and name it is shown under.
 */
export function floor(connect?: Connect, id = 'floor', name = 'floor (bare ioredis)'): Contender {
  let client: Redis | Cluster | undefined;
  let sha = '';
  // Unique per acquisition: a random per-process prefix and a counter.
  const prefix = randomBytes(8).toString('hex');
  let counter = 0;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  return {
    id,
    name,
    version: 'ioredis only',
    settings: `SET NX PX ${LEASE_MS} + EVALSHA owner-checked DEL; polls every ${FLOOR_POLL_MS} ms while waiting; no renewal`,
    async setup(url) {
      client = connect ? await connect(url) : new Redis(url);
      const servers = client instanceof Cluster ? client.nodes('master') : [client];
      for (const server of servers) sha = String(await server.script('LOAD', RELEASE_SCRIPT));
    },
    async acquire(key, waitMs): Promise<Release | null> {
      const redis = client;
      if (!redis) throw new Error('not set up');
      const token = `${prefix}:${++counter}`;
      const deadline = Date.now() + waitMs;
      for (;;) {
        if ((await redis.set(key, token, 'PX', LEASE_MS, 'NX')) === 'OK') {
          return () => redis.evalsha(sha, 1, key, token);
        }
        if (Date.now() >= deadline) return null;
        await sleep(FLOOR_POLL_MS);
      }
    },
    async close() {
      await client?.quit();
      client = undefined;
    },
  };
}
