import { monotonicNow } from '../../clock';
import { RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_MIN_MS } from '../../distributed-lock.constants';
import { LockStoreUnavailableError } from '../../errors/lock-store-unavailable.error';
import { boundReachedError, CallBound, settleWithin } from '../call-bound';
import type { LockResource } from '../lock-resource';
import type {
  AcquireMiss,
  ClaimReply,
  CompleteReply,
  LockStore,
  StoreHealth,
} from '../lock-store.interface';
import type { Waiter } from '../waiter';
import { WaiterRegistry } from '../waiter-registry';
import type { PostgresClientLike, PostgresPoolLike } from './postgres-pool-like';
import { POSTGRES_MESSAGES } from './postgres.messages';
import {
  acquireFastSql,
  acquireSql,
  claimSql,
  completeSql,
  extendSql,
  isLockedSql,
  PostgresNames,
  postgresNames,
  releaseSql,
  schemaSql,
  sweepSql,
} from './postgres-sql';

/** The base name of the store's tables, sequences and channel. */
export const DEFAULT_POSTGRES_TABLE = 'nestjs_distributed_lock';
/** How often expired rows nobody touched since are deleted. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

/**
 * Errors that mean "this connection went away, another may work" (a restart, a terminated
 * backend, a reset): worth sending again within the call's bound. Every statement is safe to
 * repeat. A refused connection is not: the server is down, and the call fails closed at once.
 */
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '40001']);
const TRANSIENT_TEXT =
  /Connection terminated|ECONNRESET|EPIPE|Client has encountered a connection error/;

function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  return (
    (typeof code === 'string' && TRANSIENT_CODES.has(code)) || TRANSIENT_TEXT.test(err.message)
  );
}

/** Waiting for a bound ran out (not a reply from PostgreSQL). */
class BoundReached extends Error {}

export interface PostgresStoreSettings {
  /** Bound of one call, retries included. */
  readonly commandTimeoutMs: number;
  /** Base name of the tables. Default: `nestjs_distributed_lock`. */
  readonly table?: string;
  readonly sweepIntervalMs?: number;
  /** Called with a sentence when the wake-up connection fails. */
  readonly warn?: (message: string) => void;
}

/**
 * Locks in PostgreSQL tables: a lease table judged on the database's clock, one statement per
 * call, fencing tokens from a sequence, a fair FIFO line in a table of its own, wake-ups by
 * `LISTEN/NOTIFY` on one connection per store. Exclusive locks and idempotency claims; read
 * locks and semaphores are refused with a `TypeError`. See `postgres-sql.ts`.
 */
export class PostgresLockStore implements LockStore {
  readonly distributed = true;
  private readonly names: PostgresNames;
  private readonly sql: Record<
    'acquire' | 'acquireFast' | 'release' | 'extend' | 'isLocked' | 'claim' | 'complete' | 'sweep',
    string
  >;
  private readonly waiters = new WaiterRegistry();
  private schema: Promise<void> | undefined;
  private listener: PostgresClientLike | undefined;
  private listening: Promise<boolean> | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly pool: PostgresPoolLike,
    private readonly ownsPool: boolean,
    private readonly settings: PostgresStoreSettings,
  ) {
    const table = settings.table ?? DEFAULT_POSTGRES_TABLE;
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(table)) {
      throw new TypeError(
        `PostgreSQL store: the table name must be a lower-case SQL identifier, got "${table}".`,
      );
    }
    const n = (this.names = postgresNames(table));
    this.sql = {
      acquire: acquireSql(n),
      acquireFast: acquireFastSql(n),
      release: releaseSql(n),
      extend: extendSql(n),
      isLocked: isLockedSql(n),
      claim: claimSql(n),
      complete: completeSql(n),
      sweep: sweepSql(n),
    };
    this.sweeper = setInterval(
      () => void this.sweep().catch(() => undefined),
      settings.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    );
    this.sweeper.unref();
  }

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
    bound?: CallBound,
  ): Promise<number | AcquireMiss> {
    exclusiveOnly(resource);
    const [row] = await this.run(
      this.sql.acquire,
      [resource.id, token, ttlMs, waiterLeaseMs, this.names.channel],
      bound,
    );
    if (row.fence !== null) return Number(row.fence);
    return { retryInMs: Number(row.retry_ms) };
  }

  async acquireFast(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null> {
    exclusiveOnly(resource);
    const [row] = await this.run(this.sql.acquireFast, [resource.id, token, ttlMs], bound);
    return row.fence === null ? null : Number(row.fence);
  }

  async release(
    resource: LockResource,
    token: string,
    _handedOver: boolean,
    bound?: CallBound,
  ): Promise<boolean> {
    const [row] = await this.run(this.sql.release, [resource.id, token, this.names.channel], bound);
    return row.released === true;
  }

  async extend(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<boolean> {
    const rows = await this.run(this.sql.extend, [resource.id, token, ttlMs], bound);
    return rows.length > 0;
  }

  async leave(resource: LockResource, token: string, bound?: CallBound): Promise<void> {
    await this.run(this.sql.release, [resource.id, token, this.names.channel], bound);
  }

  async isLocked(resource: LockResource, bound?: CallBound): Promise<boolean> {
    const [row] = await this.run(this.sql.isLocked, [resource.id], bound);
    return row.locked === true;
  }

  async claim(
    resource: LockResource,
    token: string,
    ttlMs: number,
    fingerprint: string,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<ClaimReply> {
    for (let attempt = 0; ; attempt++) {
      const [row] = await this.run(
        this.sql.claim,
        [resource.id, token, ttlMs, fingerprint, retentionMs],
        bound,
      );
      if (row.fence !== null) {
        if (row.kept === true) return { kind: 'claimed', fencingToken: Number(row.fence) };
        // A completion committed while this claim ran: the lock goes back, the record answers.
        await this.run(this.sql.release, [resource.id, token, this.names.channel], bound);
        if (attempt < 2) continue;
        return { kind: 'busy', retryInMs: 0 };
      }
      if (typeof row.response === 'string') {
        return row.fingerprint === fingerprint
          ? { kind: 'done', response: row.response }
          : { kind: 'mismatch' };
      }
      if (
        typeof row.holder === 'string' &&
        row.holder !== token &&
        typeof row.fingerprint === 'string' &&
        row.fingerprint !== fingerprint
      ) {
        return { kind: 'mismatch' };
      }
      return { kind: 'busy', retryInMs: Number(row.retry_ms) };
    }
  }

  async complete(
    resource: LockResource,
    token: string,
    _fingerprint: string,
    response: string | null,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<CompleteReply> {
    const [row] = await this.run(
      this.sql.complete,
      [resource.id, token, response, retentionMs, this.names.channel],
      bound,
    );
    // The next in line was woken by the same statement: nothing is left to hand over.
    return row.completed === true ? 'released' : 'lost';
  }

  addWaiter(resource: LockResource, token: string): Waiter {
    return this.waiters.add(resource, token);
  }

  /**
   * One `LISTEN` connection per store, opened by the first waiter: `true` when it was opened
   * now (a wake-up sent before may have been missed), `false` when it was already open or
   * cannot be opened (the waiter re-checks on its interval, and the next call tries again).
   */
  async listen(_waiter: Waiter, bound?: CallBound): Promise<boolean> {
    if (this.listener || this.closed) return false;
    this.listening ??= this.openListener().finally(() => (this.listening = undefined));
    try {
      return await this.within(this.listening, this.boundOf(bound));
    } catch (err) {
      if (bound?.signal?.aborted && err === bound.signal.reason) throw err;
      return false;
    }
  }

  removeWaiter(waiter: Waiter): void {
    this.waiters.remove(waiter);
  }

  /** Creates the tables when missing; nothing else to check. */
  async checkSetup(): Promise<readonly string[]> {
    await this.run('SELECT 1', [], undefined);
    return [];
  }

  async health(): Promise<StoreHealth> {
    const started = monotonicNow();
    await this.run('SELECT 1', [], undefined, false);
    return {
      topology: 'postgres',
      roundTripMs: Math.round((monotonicNow() - started) * 100) / 100,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.waiters.clear();
    this.dropListener();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  /** Deletes rows whose lease or retention ended (see `sweepSql`); resolves how many. */
  async sweep(): Promise<number> {
    const [row] = await this.run(this.sql.sweep, [], undefined);
    return Number(row.swept);
  }

  private async openListener(): Promise<boolean> {
    const client = await this.pool.connect();
    const fail = (err?: Error): void => {
      if (this.listener !== client) return;
      if (err) this.settings.warn?.(POSTGRES_MESSAGES.listenerError(err.message));
      this.dropListener(err ?? true);
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', (msg) => {
      // The payload is the token of the waiter whose turn it is.
      if (msg.channel === this.names.channel && msg.payload) this.waiters.wake(msg.payload);
    });
    try {
      await client.query(`LISTEN ${this.names.channel}`);
    } catch (err) {
      client.removeAllListeners();
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    if (this.closed) {
      client.removeAllListeners();
      client.release(true);
      return false;
    }
    this.listener = client;
    return true;
  }

  private dropListener(err: Error | boolean = true): void {
    const client = this.listener;
    this.listener = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    // A connection that failed may still emit errors: kept observed so none is unhandled.
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    client.release(err);
  }

  /** Creates the tables once per store (again after a failure). */
  private ensureSchema(): Promise<void> {
    this.schema ??= (async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        for (const statement of schemaSql(this.names)) await client.query(statement);
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : true);
        throw err;
      }
    })().catch((err: unknown) => {
      this.schema = undefined;
      throw err;
    });
    return this.schema;
  }

  /** The deadline of a call: its bound, and never later than the command timeout. */
  private boundOf(bound: CallBound | undefined): CallBound {
    const limit = monotonicNow() + this.settings.commandTimeoutMs;
    if (!bound) return { deadline: limit };
    return bound.deadline <= limit ? bound : { deadline: limit, signal: bound.signal };
  }

  /** Runs one statement within its bound, repeating it after a dropped connection. */
  private async run(
    text: string,
    values: unknown[],
    callBound: CallBound | undefined,
    schema = true,
  ): Promise<Record<string, unknown>[]> {
    const bound = this.boundOf(callBound);
    let backoff = RETRY_BACKOFF_MIN_MS;
    for (;;) {
      try {
        if (this.closed) throw new Error(POSTGRES_MESSAGES.closed);
        if (schema) await this.within(this.ensureSchema(), bound);
        const result = await this.within(this.pool.query(text, values), bound);
        return result.rows;
      } catch (err) {
        if (bound.signal?.aborted && err === bound.signal.reason) throw err;
        const pause = Math.min(backoff, bound.deadline - monotonicNow());
        if (!isTransient(err) || pause <= 0 || this.closed) {
          throw new LockStoreUnavailableError(
            err instanceof BoundReached ? boundReachedError(err.message) : err,
          );
        }
        await this.within(sleep(pause), bound);
        backoff = Math.min(backoff * 2, RETRY_BACKOFF_MAX_MS);
      }
    }
  }

  /** `promise`, or a rejection when the bound's deadline passes or its signal aborts. */
  private within<T>(promise: Promise<T>, bound: CallBound): Promise<T> {
    return settleWithin(
      promise,
      bound.deadline,
      bound.signal,
      (budget) => new BoundReached(`no reply from PostgreSQL within ${Math.round(budget)} ms`),
    );
  }
}

/** Read locks and semaphores are refused by name: a programming error, never retried. */
function exclusiveOnly(resource: LockResource): void {
  if (resource.mode !== 'x') {
    throw new TypeError(POSTGRES_MESSAGES.modeNotSupported(resource.key, resource.mode));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
