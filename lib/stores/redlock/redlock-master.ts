import type { RedisClientLike } from '../../interfaces/distributed-lock-module-options.interface';
import { boundReachedError, settleWithin } from '../call-bound';
import type { LuaScript } from '../lock-scripts';

/** Client states in which a command would only wait in ioredis' offline queue. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);
/** A connection being opened for the first time. */
const OPENING_STATES = new Set(['connecting', 'connect']);

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** What a health check reads from an ioredis client beyond `RedisClientLike`. */
interface Pingable {
  ping(): Promise<unknown>;
}

/**
 * One Redlock master: runs a script on it within a deadline. A master whose connection is down
 * fails at once rather than parking the command until it is back: Redlock counts it as a
 * missing vote, and a round must not wait for it.
 */
export class RedlockMaster {
  constructor(
    readonly client: RedisClientLike,
    /** Created by the module from a URL or options, so closed by it; a caller's client is not. */
    readonly owned: boolean,
    /** For messages: `master 2 (127.0.0.1:6380)`. */
    readonly name: string,
  ) {}

  /**
   * Runs `script` by SHA (by text when the server lost it), settling by `deadline` (monotonic
   * ms) or `signal`. `queueWhileDown`: a command that may as well run once the connection is
   * back (an owner-checked release) is handed to ioredis' offline queue instead of failing.
   */
  async run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    deadline: number,
    signal?: AbortSignal,
    queueWhileDown = false,
  ): Promise<unknown> {
    const status = this.client.status;
    if (status === 'end' || (!queueWhileDown && DOWN_STATES.has(status))) {
      throw new Error(`${this.name}: connection is ${status}`);
    }
    try {
      return await settleBy(
        this.client.evalsha(script.sha, keys.length, ...keys, ...args),
        deadline,
        signal,
        this.name,
      );
    } catch (err) {
      if (!isNoScript(err)) throw err;
      // The server lost its script cache (a restart): EVAL loads it.
      return settleBy(
        this.client.eval(script.source, keys.length, ...keys, ...args),
        deadline,
        signal,
        this.name,
      );
    }
  }

  /** Whether the connection is open and ready for commands. */
  isReady(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Resolves once a connection still being opened (at start-up) is ready, or at `deadline`:
   * its first round must not count the connect as the master's answer time.
   */
  async ready(deadline: number): Promise<void> {
    if (!OPENING_STATES.has(this.client.status)) return;
    let onReady: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      onReady = resolve;
      this.client.on('ready', onReady);
    });
    try {
      await settleBy(opened, deadline, undefined, this.name);
    } catch {
      // Still not ready: the round counts it as a missing vote.
    } finally {
      this.client.removeListener('ready', onReady);
    }
  }

  /** `PING`, within `deadline`; fails at once when the connection is down. */
  ping(deadline: number): Promise<unknown> {
    const status = this.client.status;
    if (DOWN_STATES.has(status)) {
      return Promise.reject(new Error(`${this.name}: connection is ${status}`));
    }
    return settleBy(
      (this.client as RedisClientLike & Pingable).ping(),
      deadline,
      undefined,
      this.name,
    );
  }

  /** The server's eviction policy, for the start-up check. */
  async evictionPolicy(deadline: number): Promise<string | undefined> {
    const info = await settleBy(this.client.info('memory'), deadline, undefined, this.name);
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  }

  /** Closes the connection when the module opened it. */
  async close(): Promise<void> {
    const client = this.client;
    if (!this.owned || client.status === 'end') return;
    if (client.status === 'ready') {
      await client.quit().catch(() => client.disconnect());
    } else {
      // QUIT would wait for a reconnect that may never come.
      client.disconnect();
    }
  }
}

/**
 * `promise`, or a rejection when `deadline` (monotonic ms) passes (a `TimeoutError` cause, as
 * every store gives) or `signal` aborts (its reason).
 */
export function settleBy<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  who: string,
): Promise<T> {
  return settleWithin(promise, deadline, signal, (budget) =>
    boundReachedError(`no reply from ${who} within ${Math.round(budget)} ms`),
  );
}
