import { monotonicNow } from '../clock';
import { RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_MIN_MS } from '../distributed-lock.constants';
import { MESSAGES } from '../distributed-lock.messages';
import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import type {
  RedisClientLike,
  RedisSubscriberLike,
} from '../interfaces/distributed-lock-module-options.interface';
import { boundReachedError, CallBound, settleWithin } from './call-bound';
import type { LockResource } from './lock-resource';
import {
  ACQUIRE_SCRIPT,
  EXTEND_SCRIPT,
  FAST_ACQUIRE_SCRIPT,
  FAST_RELEASE_SCRIPT,
  IS_LOCKED_SCRIPT,
  LuaScript,
  PERMITS_IN_USE,
  RELEASE_NEEDS_HANDOFF,
  RELEASE_SCRIPT,
} from './lock-scripts';
import {
  CLAIM_SCRIPT,
  CLAIMED,
  COMPLETE_SCRIPT,
  COMPLETED,
  IN_FLIGHT,
  recordKey,
} from './idempotency-scripts';
import type {
  AcquireMiss,
  ClaimReply,
  CompleteReply,
  LockStore,
  StoreHealth,
} from './lock-store.interface';
import { logConnectionErrors } from './log-connection-errors';
import type { Waiter } from './waiter';
import { WaiterRegistry } from './waiter-registry';

/** Client states in which a command would only wait in ioredis' offline queue. */
const DOWN_STATES = new Set(['reconnecting', 'close']);

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Replies that mean "not now" (a slot moving, a cluster or replica settling, a connection
 * being replaced): worth sending again within the call's bound. Every script is safe to repeat.
 */
const TRANSIENT =
  /^(TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN|READONLY|BUSY)\b|Too many Cluster redirections|Connection is closed|Stream isn't writeable|All sentinels are unreachable|Failed to refresh slots cache|ECONNRESET|EPIPE/;

function isTransient(err: unknown): boolean {
  return err instanceof Error && TRANSIENT.test(err.message);
}

/** What a health check reads from an ioredis client beyond `RedisClientLike`. */
interface HealthClient {
  ping(): Promise<unknown>;
  readonly options?: { readonly sentinels?: readonly unknown[] | null };
}

/** Waiting for a bound ran out (not a reply from Redis). */
class BoundReached extends Error {}

/** `WAIT` for this many replicas, this long, after taking a lock. */
export interface ReplicaSync {
  readonly replicas: number;
  readonly timeoutMs: number;
}

interface ChannelState {
  listeners: number;
  active: boolean;
  failed: boolean;
  subscribed: Promise<void>;
}

export class RedisLockStore implements LockStore {
  readonly distributed = true;
  private readonly waiters = new WaiterRegistry();
  private readonly listening = new WeakMap<Waiter, ChannelState>();
  private readonly channels = new Map<string, ChannelState>();
  private subscriber: RedisSubscriberLike | undefined;
  private closed = false;
  /** Calls waiting for the connection to be ready again: one listener for all of them. */
  private readyAgain: { promise: Promise<void>; cancel: () => void } | undefined;

  constructor(
    private readonly client: RedisClientLike,
    private readonly ownsClient: boolean,
    /** Bound of one call: reconnect wait, retries and reply included. */
    private readonly commandTimeoutMs: number,
    /** Replicas that must confirm a new lock before its holder gets it (`WAIT`); 0: none. */
    private readonly sync: ReplicaSync = { replicas: 0, timeoutMs: 0 },
  ) {}

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
    bound?: CallBound,
  ): Promise<number | AcquireMiss> {
    const reply = await this.run(
      ACQUIRE_SCRIPT,
      resource.storeKeys,
      [token, ttlMs, resource.mode, resource.limit, waiterLeaseMs, resource.channel],
      bound,
    );
    if (typeof reply === 'number') return this.replicated(resource, token, reply);
    if (Array.isArray(reply) && reply[0] === PERMITS_IN_USE) {
      // A programming error, not an outage: thrown as it is, never retried.
      throw new TypeError(MESSAGES.permitMismatch(resource.key, Number(reply[1]), resource.limit));
    }
    return { retryInMs: Array.isArray(reply) ? Number(reply[0]) : -1 };
  }

  async acquireFast(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null> {
    const reply = await this.run(FAST_ACQUIRE_SCRIPT, resource.fastKeys, [token, ttlMs], bound);
    return typeof reply === 'number' ? this.replicated(resource, token, reply) : null;
  }

  async release(
    resource: LockResource,
    token: string,
    handedOver: boolean,
    bound?: CallBound,
  ): Promise<boolean> {
    // Unless someone waits (a hand-over usually means others do), L alone is enough.
    if (resource.mode === 'x' && !handedOver) {
      const fast = await this.run(FAST_RELEASE_SCRIPT, resource.holderKeys, [token], bound);
      if (fast !== RELEASE_NEEDS_HANDOFF) return fast === 1;
    }
    return (await this.letGo(resource, token, bound)) === 1;
  }

  async extend(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<boolean> {
    const reply = await this.run(
      EXTEND_SCRIPT,
      resource.mode === 'x' ? resource.holderKeys : resource.storeKeys,
      [token, ttlMs, resource.mode],
      bound,
    );
    return reply === 1;
  }

  async leave(resource: LockResource, token: string, bound?: CallBound): Promise<void> {
    await this.letGo(resource, token, bound);
  }

  /** RELEASE_SCRIPT: the token's hold and its place in line alike, then the next in line. */
  private letGo(resource: LockResource, token: string, bound?: CallBound): Promise<unknown> {
    return this.run(
      RELEASE_SCRIPT,
      resource.storeKeys,
      [token, resource.mode, resource.channel, resource.limit],
      bound,
    );
  }

  async isLocked(resource: LockResource, bound?: CallBound): Promise<boolean> {
    return (await this.run(IS_LOCKED_SCRIPT, resource.storeKeys, [], bound)) === 1;
  }

  async claim(
    resource: LockResource,
    token: string,
    ttlMs: number,
    fingerprint: string,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<ClaimReply> {
    const reply = (await this.run(
      CLAIM_SCRIPT,
      [...resource.fastKeys, recordKey(resource)],
      [token, ttlMs, fingerprint, retentionMs],
      bound,
    )) as [string, string | number | undefined];
    switch (reply[0]) {
      case CLAIMED:
        return {
          kind: 'claimed',
          fencingToken: await this.replicated(resource, token, Number(reply[1])),
        };
      case COMPLETED:
        return { kind: 'done', response: String(reply[1]) };
      case IN_FLIGHT:
        return { kind: 'busy', retryInMs: Number(reply[1]) };
      default:
        return { kind: 'mismatch' };
    }
  }

  async complete(
    resource: LockResource,
    token: string,
    fingerprint: string,
    response: string | null,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<CompleteReply> {
    const reply = await this.run(
      COMPLETE_SCRIPT,
      [resource.id, recordKey(resource)],
      [token, response ?? '', retentionMs, fingerprint],
      bound,
    );
    if (reply === 0) return 'lost';
    if (response !== null) await this.replicatedWrite(recordKey(resource));
    return reply === 1 ? 'released' : 'handoff';
  }

  /**
   * With `syncReplicas`, a new lock counts only once that many replicas have it: `WAIT` on the
   * connection (the Cluster node) that took it. Short of that, it is given back and the
   * acquisition fails closed.
   */
  private async replicated(resource: LockResource, token: string, fence: number): Promise<number> {
    const { replicas, timeoutMs } = this.sync;
    if (replicas <= 0) return fence;
    let acks = 0;
    let failure: unknown;
    try {
      // EXISTS pins the pipeline to the lock's node; WAIT then covers this connection's writes.
      const replies = await this.within(
        this.client
          .pipeline([
            ['exists', resource.id],
            ['wait', replicas, timeoutMs],
          ])
          .exec(),
        { deadline: monotonicNow() + timeoutMs + this.commandTimeoutMs },
      );
      acks = Number(replies?.[1]?.[1] ?? 0);
    } catch (err) {
      failure = err;
    }
    if (acks >= replicas) return fence;
    await this.release(resource, token, true).catch(() => undefined);
    throw new LockStoreUnavailableError(
      failure ?? new Error(MESSAGES.notReplicated(acks, replicas, timeoutMs)),
    );
  }

  /**
   * With `syncReplicas`, a stored response is confirmed like a new lock; short of that it is
   * kept anyway (the handler has run), and the shortfall is reported as an error.
   */
  private async replicatedWrite(key: string): Promise<void> {
    const { replicas, timeoutMs } = this.sync;
    if (replicas <= 0) return;
    const commands = [
      ['exists', key],
      ['wait', replicas, timeoutMs],
    ];
    const acks = await this.within(this.client.pipeline(commands).exec(), {
      deadline: monotonicNow() + timeoutMs + this.commandTimeoutMs,
    }).then((replies) => Number(replies?.[1]?.[1] ?? 0));
    if (acks < replicas) {
      throw new LockStoreUnavailableError(
        new Error(MESSAGES.notReplicated(acks, replicas, timeoutMs)),
      );
    }
  }

  addWaiter(resource: LockResource, token: string): Waiter {
    return this.waiters.add(resource, token);
  }

  async listen(waiter: Waiter, bound?: CallBound): Promise<boolean> {
    const current = this.listening.get(waiter);
    if (current && !current.failed) return false;
    if (current) this.forget(waiter, current);
    if (this.closed) return false;
    let state = this.channels.get(waiter.channel);
    if (!state) {
      const created: ChannelState = {
        listeners: 0,
        active: false,
        failed: false,
        subscribed: Promise.resolve(),
      };
      created.subscribed = this.subscriberConnection()
        .subscribe(waiter.channel)
        .then(
          () => {
            created.active = true;
          },
          (err: unknown) => {
            this.dropFailed(waiter.channel, created);
            throw err;
          },
        );
      // Observed here so that a failure nobody awaits any more is not an unhandled rejection.
      created.subscribed.catch(() => undefined);
      state = created;
      this.channels.set(waiter.channel, state);
    }
    this.listening.set(waiter, state);
    // Until the subscription is active a wake-up can be missed: the caller must look again.
    const fresh = !state.active;
    state.listeners++;
    try {
      await this.within(state.subscribed, this.boundOf(bound));
      return fresh;
    } catch (err) {
      if (err === bound?.signal?.reason && bound?.signal?.aborted) throw err;
      // No wake-ups for now: the waiter re-checks on its interval and may listen again.
      if (err instanceof BoundReached) this.dropFailed(waiter.channel, state);
      return false;
    }
  }

  removeWaiter(waiter: Waiter): void {
    this.waiters.remove(waiter);
    const state = this.listening.get(waiter);
    if (state) this.forget(waiter, state);
  }

  async checkSetup(): Promise<readonly string[]> {
    const nodes = this.client.nodes?.('master') ?? [this.client];
    const problems: string[] = [];
    for (const node of nodes) {
      const info = await this.within(node.info('memory'), this.boundOf(undefined));
      const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
      if (policy && policy !== 'noeviction') problems.push(MESSAGES.evictionPolicy(policy));
    }
    return [...new Set(problems)];
  }

  /** `PING` to every master (the client itself when no node is known yet), within the timeout. */
  async health(): Promise<StoreHealth> {
    const client = this.client as RedisClientLike & HealthClient;
    const topology = client.nodes
      ? 'cluster'
      : client.options?.sentinels?.length
        ? 'sentinel'
        : 'single';
    const masters = client.nodes?.('master') as (RedisClientLike & HealthClient)[] | undefined;
    const nodes = masters?.length ? masters : [client];
    const started = monotonicNow();
    try {
      if (this.closed) throw new Error('the lock store is closed');
      await this.within(
        Promise.all(
          nodes.map((node) => {
            // A connection that is down would only park PING in ioredis' offline queue.
            if (DOWN_STATES.has(node.status) || node.status === 'end') {
              const state = node.status === 'end' ? 'closed for good' : node.status;
              throw new Error(`Redis connection is ${state}`);
            }
            return node.ping();
          }),
        ),
        this.boundOf(undefined),
      );
    } catch (err) {
      throw new LockStoreUnavailableError(
        err instanceof BoundReached ? boundReachedError(err.message) : err,
      );
    }
    return { topology, roundTripMs: Math.round((monotonicNow() - started) * 100) / 100 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.readyAgain?.cancel();
    this.waiters.clear();
    this.channels.clear();
    const connections = [this.subscriber, this.ownsClient ? this.client : undefined];
    this.subscriber = undefined;
    await Promise.all(
      connections.map(async (connection) => {
        if (!connection || connection.status === 'end') return;
        if (connection.status === 'ready') {
          await connection.quit().catch(() => connection.disconnect());
        } else {
          // QUIT would wait for a reconnect that may never come.
          connection.disconnect();
        }
      }),
    );
  }

  private forget(waiter: Waiter, state: ChannelState): void {
    this.listening.delete(waiter);
    if (--state.listeners > 0 || this.channels.get(waiter.channel) !== state) return;
    this.channels.delete(waiter.channel);
    this.subscriber?.unsubscribe(waiter.channel).catch(() => undefined);
  }

  /** A failed subscription is not kept: the next waiter of the channel subscribes again. */
  private dropFailed(channel: string, state: ChannelState): void {
    state.failed = true;
    if (this.channels.get(channel) !== state) return;
    this.channels.delete(channel);
    this.subscriber?.unsubscribe(channel).catch(() => undefined);
  }

  /** One subscriber connection per store, shared by every waiter, opened on first need. */
  private subscriberConnection(): RedisSubscriberLike {
    if (this.closed) throw new LockStoreUnavailableError(new Error('the lock store is closed'));
    if (!this.subscriber) {
      const subscriber = this.client.duplicate();
      // 'token fence lease-ms': the resource was handed to that waiter, for lease-ms so far.
      subscriber.on('message', (_channel: string, message: string) => {
        const [token, fence, leaseMs] = message.split(' ');
        const handOver = { fencingToken: Number(fence), leaseMs: Number(leaseMs) };
        // Anything else on the channel only makes the waiter look again.
        const valid = Number.isSafeInteger(handOver.fencingToken) && handOver.leaseMs > 0;
        this.waiters.wake(token, valid ? handOver : undefined);
      });
      logConnectionErrors(subscriber, MESSAGES.subscriberError, 'warn');
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  /** The deadline of a call: its bound, and never later than the command timeout. */
  private boundOf(bound: CallBound | undefined): CallBound {
    const limit = monotonicNow() + this.commandTimeoutMs;
    if (!bound) return { deadline: limit };
    return bound.deadline <= limit ? bound : { deadline: limit, signal: bound.signal };
  }

  /**
   * Runs a script by SHA within its bound: waits for a connection being re-established,
   * repeats replies that mean "not now", loads the script when the server lost it.
   */
  private async run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    callBound?: CallBound,
  ): Promise<unknown> {
    const bound = this.boundOf(callBound);
    let backoff = RETRY_BACKOFF_MIN_MS;
    let byEval = false;
    for (;;) {
      if (this.closed) {
        throw new LockStoreUnavailableError(new Error('the lock store is closed'));
      }
      try {
        const status = this.client.status;
        if (status === 'end') throw new Error('Redis connection is closed for good');
        // Sent now, rather than parked in ioredis' offline queue past its caller's bound.
        if (DOWN_STATES.has(status)) await this.reconnected(bound);
        const reply = byEval
          ? this.client.eval(script.source, keys.length, ...keys, ...args)
          : this.client.evalsha(script.sha, keys.length, ...keys, ...args);
        return await this.within(reply, bound);
      } catch (err) {
        if (bound.signal?.aborted && err === bound.signal.reason) throw err;
        if (!byEval && isNoScript(err)) {
          // The server lost its script cache (restart, failover, SCRIPT FLUSH): EVAL loads it.
          byEval = true;
          continue;
        }
        const pause = Math.min(backoff, bound.deadline - monotonicNow());
        if (!isTransient(err) || pause <= 0) {
          throw new LockStoreUnavailableError(
            err instanceof BoundReached ? boundReachedError(err.message) : err,
          );
        }
        await this.within(sleep(pause), bound);
        backoff = Math.min(backoff * 2, RETRY_BACKOFF_MAX_MS);
      }
    }
  }

  /**
   * Resolves once a connection being re-established is ready again, within `bound`. Every call
   * waiting for it shares one 'ready' listener.
   */
  private async reconnected(bound: CallBound): Promise<void> {
    if (!this.readyAgain) {
      let onReady: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        onReady = () => {
          cancel();
          resolve();
        };
        this.client.on('ready', onReady);
      });
      const cancel = (): void => {
        this.client.removeListener('ready', onReady);
        this.readyAgain = undefined;
      };
      this.readyAgain = { promise, cancel };
    }
    await this.within(
      this.readyAgain.promise,
      bound,
      () => `Redis connection is ${this.client.status}`,
    );
  }

  /** `promise`, or a rejection when the bound's deadline passes or its signal aborts. */
  private within<T>(
    promise: Promise<T>,
    bound: CallBound,
    describe: () => string = () => 'no reply from Redis',
  ): Promise<T> {
    return settleWithin(
      promise,
      bound.deadline,
      bound.signal,
      (budget) => new BoundReached(`${describe()} within ${Math.round(budget)} ms`),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
