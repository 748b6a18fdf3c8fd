import { FENCING_RETENTION_MS } from '../distributed-lock.constants';
import { MESSAGES } from '../distributed-lock.messages';
import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import type {
  RedisClientLike,
  RedisSubscriberLike,
} from '../interfaces/distributed-lock-module-options.interface';
import type { LockResource } from './lock-resource';
import {
  ACQUIRE_SCRIPT,
  EXTEND_SCRIPT,
  FAST_ACQUIRE_SCRIPT,
  IS_LOCKED_SCRIPT,
  LEAVE_SCRIPT,
  LuaScript,
  RELEASE_SCRIPT,
} from './lock-scripts';
import type { AcquireMiss, LockStore } from './lock-store.interface';
import { logConnectionErrors } from './log-connection-errors';
import type { Waiter } from './waiter';
import { WaiterRegistry } from './waiter-registry';

/** Client states in which a command would only wait in ioredis' offline queue. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

interface ChannelState {
  listeners: number;
  active: boolean;
  subscribed: Promise<void>;
}

export class RedisLockStore implements LockStore {
  readonly distributed = true;
  private readonly waiters = new WaiterRegistry();
  private readonly listening = new WeakSet<Waiter>();
  private readonly channels = new Map<string, ChannelState>();
  private subscriber: RedisSubscriberLike | undefined;

  constructor(
    private readonly client: RedisClientLike,
    private readonly ownsClient: boolean,
  ) {}

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
  ): Promise<number | AcquireMiss> {
    const reply = await this.run(
      ACQUIRE_SCRIPT,
      resource.storeKeys,
      token,
      ttlMs,
      resource.mode,
      resource.limit,
      waiterLeaseMs,
      resource.channel,
      FENCING_RETENTION_MS,
    );
    if (typeof reply === 'number') return reply;
    return { retryInMs: Array.isArray(reply) ? Number(reply[0]) : -1 };
  }

  async acquireFast(resource: LockResource, token: string, ttlMs: number): Promise<number | null> {
    const reply = await this.run(
      FAST_ACQUIRE_SCRIPT,
      resource.fastKeys,
      token,
      ttlMs,
      FENCING_RETENTION_MS,
    );
    return typeof reply === 'number' ? reply : null;
  }

  async release(resource: LockResource, token: string, handedOver: boolean): Promise<boolean> {
    const reply = await this.run(
      RELEASE_SCRIPT,
      resource.storeKeys,
      token,
      resource.mode,
      resource.channel,
      resource.limit,
      handedOver ? '1' : '0',
      FENCING_RETENTION_MS,
    );
    return reply === 1;
  }

  async extend(resource: LockResource, token: string, ttlMs: number): Promise<boolean> {
    return (await this.run(EXTEND_SCRIPT, resource.storeKeys, token, ttlMs, resource.mode)) === 1;
  }

  async leave(resource: LockResource, token: string): Promise<void> {
    await this.run(
      LEAVE_SCRIPT,
      resource.storeKeys,
      token,
      resource.mode,
      resource.channel,
      resource.limit,
      FENCING_RETENTION_MS,
    );
  }

  async isLocked(resource: LockResource): Promise<boolean> {
    return (await this.run(IS_LOCKED_SCRIPT, resource.storeKeys)) === 1;
  }

  addWaiter(resource: LockResource, token: string): Waiter {
    return this.waiters.add(resource, token);
  }

  async listen(waiter: Waiter): Promise<boolean> {
    if (this.listening.has(waiter)) return false;
    this.listening.add(waiter);
    let state = this.channels.get(waiter.channel);
    if (!state) {
      const created: ChannelState = { listeners: 0, active: false, subscribed: Promise.resolve() };
      created.subscribed = this.subscriberConnection()
        .subscribe(waiter.channel)
        .then(() => {
          created.active = true;
        });
      state = created;
      this.channels.set(waiter.channel, state);
    }
    // Until the subscription is active a wake-up can be missed: the caller must look again.
    const fresh = !state.active;
    state.listeners++;
    try {
      await state.subscribed;
      return fresh;
    } catch {
      // No wake-ups for now: the waiter still re-checks on its interval.
      return false;
    }
  }

  removeWaiter(waiter: Waiter): void {
    this.waiters.remove(waiter);
    if (!this.listening.has(waiter)) return;
    this.listening.delete(waiter);
    const state = this.channels.get(waiter.channel);
    if (!state || --state.listeners > 0) return;
    this.channels.delete(waiter.channel);
    this.subscriber?.unsubscribe(waiter.channel).catch(() => undefined);
  }

  async close(): Promise<void> {
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

  /** One subscriber connection per store, shared by every waiter, opened on first need. */
  private subscriberConnection(): RedisSubscriberLike {
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

  private async run(
    script: LuaScript,
    keys: readonly string[],
    ...args: (string | number)[]
  ): Promise<unknown> {
    if (DOWN_STATES.has(this.client.status)) {
      throw new LockStoreUnavailableError(new Error(`Redis connection is ${this.client.status}`));
    }
    try {
      return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw new LockStoreUnavailableError(err);
    }
    // The server lost its script cache (restart, failover, SCRIPT FLUSH): EVAL loads it again.
    try {
      return await this.client.eval(script.source, keys.length, ...keys, ...args);
    } catch (err) {
      throw new LockStoreUnavailableError(err);
    }
  }
}
