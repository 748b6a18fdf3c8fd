import type { RedisOptions } from 'ioredis';

/** The subset of an ioredis client (standalone or cluster) that the Redis store uses. */
export interface RedisClientLike {
  readonly status: string;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  exists(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export interface DistributedLockModuleOptions {
  /**
   * Where locks live: a `redis://` URL, ioredis options, or an existing ioredis client (which the
   * module then never closes). Absent: the in-memory store, which locks within this process only.
   */
  redis?: string | RedisOptions | RedisClientLike;
  /** Prefix of every Redis key the module writes. Default: `'lock:'`. */
  keyPrefix?: string;
  /** Lease in ms of a lock that is not renewed. Default: 30000. */
  ttl?: number;
  /** How long an acquisition waits for a held lock, in ms. Default: 10000. */
  waitTimeout?: number;
  /** Renew held locks before their lease ends (watchdog, at a third of the lease). Default: true. */
  autoExtend?: boolean;
}
