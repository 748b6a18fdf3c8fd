import type { RedisOptions } from 'ioredis';
import type { PostgresOption } from '../stores/postgres/postgres-pool-like';
import type { LockStore } from '../stores/lock-store.interface';
import type { IdempotencyOptions } from './idempotency-options.interface';

/** The subset of an ioredis connection that the Redis store uses. */
export interface RedisConnectionLike {
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  removeListener(event: 'ready' | 'end', listener: () => void): unknown;
}

/** The subset of an ioredis client (standalone or cluster) that the Redis store uses. */
export interface RedisClientLike extends RedisConnectionLike {
  /** Runs a loaded Lua script by its SHA-1 (`EVALSHA`). */
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** Runs a Lua script by its text (`EVAL`), when `EVALSHA` finds it not loaded. */
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** Runs commands back to back on one connection (one node of a Cluster): for `WAIT`. */
  pipeline(commands: (string | number)[][]): {
    exec(): Promise<[Error | null, unknown][] | null>;
  };
  /** Read once at start, to check the eviction policy. */
  info(section: string): Promise<string>;
  /** A Cluster's nodes: each master's settings are checked. */
  nodes?(role: 'master'): RedisClientLike[];
  /** A new connection with the same settings: the store subscribes to wake-ups on it. */
  duplicate(): RedisSubscriberLike;
}

/** The subset of an ioredis connection used for wake-up messages. */
export interface RedisSubscriberLike extends RedisConnectionLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

/** One Redlock master: a `redis://` URL, ioredis options, or an ioredis client (never closed by the module). */
export type RedlockMaster = string | RedisOptions | RedisClientLike;

/** The `redlock` module option: one lock taken on a majority of independent Redis masters. */
export interface RedlockOptions {
  /** At least 3 independent masters (no replication between them); an odd number is advised. */
  masters: readonly RedlockMaster[];
  /**
   * Share of the lease allowed for the clocks' rates to differ; the drift is
   * `ttl × driftFactor + 2 ms`, and never less than the engine's 1 %. Default: 0.01.
   */
  driftFactor?: number;
  /** A waiter retries after a random delay of 1 to this many ms. Default: 50. */
  retryJitter?: number;
  /**
   * How long one round waits for a master, in ms. Default: a twentieth of the lease (at least
   * 10 ms), and never more than `commandTimeout`.
   */
  masterTimeout?: number;
}

/** The part of an `etcd3` client (`Etcd3`) the etcd store relies on, so that typings never name `etcd3`. */
export interface EtcdClientLike {
  readonly kv: object;
  readonly leaseClient: object;
  readonly maintenance: object;
  watch(): unknown;
  close(): void;
}

/** The `etcd` module option when the module connects by itself (with the `etcd3` package). */
export interface EtcdConnectionOptions {
  /** Cluster members' gRPC endpoints, such as `'http://10.0.0.1:2379'`; every member is advised. */
  hosts: string | readonly string[];
  /** Username and password, when etcd's authentication is on. Default: none. */
  auth?: { username: string; password: string };
  /** TLS: the CA's certificate, and the client's key and certificate for mutual TLS. Default: none. */
  credentials?: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer };
}

/** The `etcd` module option: connection settings, or an existing `etcd3` client (never closed by the module). */
export type EtcdOptions = EtcdConnectionOptions | EtcdClientLike;

/** Options of `forRoot()`, and what a `forRootAsync()` factory returns; all optional. */
export interface DistributedLockModuleOptions {
  /**
   * Where locks live: a `redis://` URL, ioredis options, or an existing ioredis client (which the
   * module then never closes). Absent: the in-memory store, which locks within this process only.
   */
  redis?: string | RedisOptions | RedisClientLike;
  /**
   * Redlock instead of one Redis: every lock is taken on a majority of these independent masters.
   * Exclusive locks only (read locks, semaphores and idempotency claims are refused). Not with `redis`.
   */
  redlock?: RedlockOptions;
  /**
   * etcd instead of Redis: leases, a create-if-absent transaction and a watch on the previous
   * waiter, after etcd's lock recipe. Needs the `etcd3` package. Exclusive locks only. Not with
   * `redis` or `redlock`.
   */
  etcd?: EtcdOptions;
  /**
   * PostgreSQL instead of Redis: a `postgres://` URL, `pg.Pool` settings, or an existing `pg.Pool`
   * (which the module then never closes). Needs the `pg` package; creates its tables on first use.
   * Exclusive locks and idempotency claims (read locks and semaphores are refused). Not with
   * another store option.
   */
  postgres?: PostgresOption;
  /**
   * A store of your own, implementing the `LockStore` contract (check it with
   * `runLockStoreContract` from `nestjs-distributed-lock/testing`); closed with the module. Not
   * with another store option.
   */
  store?: LockStore;
  /** Prefix of every Redis key the module writes. Default: `'lock:'`. */
  keyPrefix?: string;
  /** Lease in ms of a lock that is not renewed. Default: 30000. */
  ttl?: number;
  /** How long an acquisition waits for a held lock, in ms. Default: 10000. */
  waitTimeout?: number;
  /** Renew held locks before their lease ends (watchdog, at a third of the lease). Default: true. */
  autoExtend?: boolean;
  /**
   * A waiter is woken by the release it waits for; it also looks again after this many ms in
   * case a wake-up was lost or a holder died. Default: 1000.
   */
  recheckInterval?: number;
  /**
   * The same async call chain taking a lock it already holds (inside `using` or `@WithLock`)
   * gets it again instead of waiting for itself. Everything that runs in that async context
   * counts, event listeners and timers started inside included: see the README. Default: false.
   */
  reentrant?: boolean;
  /**
   * Bound in ms of one Redis call (a reconnect wait and retries included); renewals are also
   * bounded by the lease, acquisitions by their `waitTimeout` and signal. Default: 1000.
   */
  commandTimeout?: number;
  /**
   * Replicas that must confirm a new lock (Redis `WAIT`) before its holder gets it, so that a
   * failover to one of them keeps it. 0 turns it off. Default: 0.
   */
  syncReplicas?: number;
  /** How long in ms a new lock waits for `syncReplicas` confirmations. Default: 1000. */
  syncTimeout?: number;
  /**
   * When Redis may evict keys (a `maxmemory-policy` other than `noeviction`), checked at start:
   * `'warn'` logs it, `'throw'` stops the application from starting, `'ignore'`. Default: `'warn'`.
   */
  evictionPolicy?: 'warn' | 'throw' | 'ignore';
  /** Defaults for every `@Idempotent()` handler and `IdempotencyService.run` call. */
  idempotency?: IdempotencyOptions;
}
