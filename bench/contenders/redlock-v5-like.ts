import { Redis } from 'ioredis';
import {
  type Contender,
  LEASE_MS,
  PEER_RETRY_DELAY_MS,
  PEER_RETRY_JITTER_MS,
  type Release,
} from './contender';

/** What redlock v5 and its fork @sesamecare-oss/redlock have in common. */
export interface RedlockV5Api {
  on(event: 'error', listener: (err: Error) => void): unknown;
  acquire(
    resources: string[],
    duration: number,
    settings?: { retryCount?: number },
  ): Promise<{ release(): Promise<unknown> }>;
}

export type RedlockV5Constructor = new (
  clients: Iterable<Redis>,
  settings: { retryCount: number; retryDelay: number; retryJitter: number },
) => RedlockV5Api;

/** Retries needed to keep trying for about `waitMs` at the configured pace. */
export function retriesFor(waitMs: number): number {
  return waitMs === 0 ? 0 : Math.ceil(waitMs / PEER_RETRY_DELAY_MS);
}

export const REDLOCK_SETTINGS = `single client; retryDelay ${PEER_RETRY_DELAY_MS} ms, retryJitter ${PEER_RETRY_JITTER_MS} ms (package defaults 200/100 ms), retryCount = wait / retryDelay; lease ${LEASE_MS / 1000} s, no renewal (acquire/release API)`;

/**
 * A redlock-v5-shaped contender over one ioredis client per master: `setup` takes one URL, or
 * several separated by commas (S9: five independent masters).
 */
export function redlockV5Like(
  meta: Pick<Contender, 'id' | 'name' | 'version'> & { settings?: string },
  load: () => Promise<RedlockV5Constructor>,
): Contender {
  let clients: Redis[] = [];
  let redlock: RedlockV5Api | undefined;
  return {
    settings: REDLOCK_SETTINGS,
    ...meta,
    async setup(url) {
      const Redlock = await load();
      clients = url.split(',').map((u) => new Redis(u));
      redlock = new Redlock(clients, {
        retryCount: 0,
        retryDelay: PEER_RETRY_DELAY_MS,
        retryJitter: PEER_RETRY_JITTER_MS,
      });
      // Every refused attempt is also emitted as 'error'; unhandled, that would throw.
      redlock.on('error', () => undefined);
    },
    async acquire(key, waitMs): Promise<Release | null> {
      if (!redlock) throw new Error('not set up');
      try {
        const lock = await redlock.acquire([key], LEASE_MS, { retryCount: retriesFor(waitMs) });
        return () => lock.release();
      } catch (err) {
        if (err instanceof Error && err.name === 'ExecutionError') return null;
        if (err instanceof Error && /unable to achieve a quorum/.test(err.message)) return null;
        throw err;
      }
    },
    async close() {
      await Promise.all(clients.map((c) => c.quit()));
      clients = [];
      redlock = undefined;
    },
  };
}
