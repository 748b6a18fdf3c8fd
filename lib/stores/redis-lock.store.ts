import { FENCING_KEY_SUFFIX } from '../distributed-lock.constants';
import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import type { RedisClientLike } from '../interfaces/distributed-lock-module-options.interface';
import { ACQUIRE_SCRIPT, EXTEND_SCRIPT, LuaScript, RELEASE_SCRIPT } from './lock-scripts';
import type { LockStore } from './lock-store.interface';

/** Client states in which a command would only wait in ioredis' offline queue. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

export class RedisLockStore implements LockStore {
  readonly distributed = true;

  constructor(
    private readonly client: RedisClientLike,
    private readonly ownsClient: boolean,
  ) {}

  async tryAcquire(key: string, token: string, ttlMs: number): Promise<number | null> {
    const reply = await this.run(ACQUIRE_SCRIPT, 2, key, key + FENCING_KEY_SUFFIX, token, ttlMs);
    return reply === null ? null : Number(reply);
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.run(RELEASE_SCRIPT, 1, key, token)) === 1;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.run(EXTEND_SCRIPT, 1, key, token, ttlMs)) === 1;
  }

  async isLocked(key: string): Promise<boolean> {
    this.assertUp();
    try {
      return (await this.client.exists(key)) === 1;
    } catch (err) {
      throw new LockStoreUnavailableError(err);
    }
  }

  async close(): Promise<void> {
    if (!this.ownsClient || this.client.status === 'end') return;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      // QUIT would wait for a reconnect that may never come.
      this.client.disconnect();
    }
  }

  private async run(
    script: LuaScript,
    numKeys: number,
    ...args: (string | number)[]
  ): Promise<unknown> {
    this.assertUp();
    try {
      return await this.client.evalsha(script.sha, numKeys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw new LockStoreUnavailableError(err);
    }
    // The server lost its script cache (restart, failover, SCRIPT FLUSH): EVAL loads it again.
    try {
      return await this.client.eval(script.source, numKeys, ...args);
    } catch (err) {
      throw new LockStoreUnavailableError(err);
    }
  }

  /** Fails closed at once while the connection is down, instead of queueing behind a reconnect. */
  private assertUp(): void {
    if (DOWN_STATES.has(this.client.status)) {
      throw new LockStoreUnavailableError(new Error(`Redis connection is ${this.client.status}`));
    }
  }
}
