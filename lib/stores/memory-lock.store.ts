import { MESSAGES } from '../distributed-lock.messages';
import type { LockResource } from './lock-resource';
import type {
  AcquireMiss,
  ClaimReply,
  CompleteReply,
  LockStore,
  StoreHealth,
} from './lock-store.interface';
import type { Waiter } from './waiter';
import { WaiterRegistry } from './waiter-registry';

interface Hold {
  token: string;
  ends: number;
  timer: NodeJS.Timeout;
}

interface QueueEntry {
  seq: number;
  writer: boolean;
  leaseEnd: number;
}

interface ResourceState {
  exclusive: Hold | undefined;
  shared: Map<string, Hold>;
  /** Insertion order is arrival order. */
  queue: Map<string, QueueEntry>;
  seq: number;
  /** A semaphore's permit count, set by the call that found it idle. */
  permits: number | undefined;
}

/** An idempotency record: the claim's fingerprint, and the response once completed. */
interface IdempotencyRecord {
  fingerprint: string;
  response: string | undefined;
  timer: NodeJS.Timeout;
}

const NO_TURN: AcquireMiss = { retryInMs: -1 };

/**
 * The Redis store's semantics (owner tokens, leases, fencing, fair queue, read and shared
 * holds, wake-ups) inside one process. Each instance is its own namespace; a resource's state
 * is dropped as soon as nobody holds or waits for it.
 */
export class MemoryLockStore implements LockStore {
  readonly distributed = false;
  private readonly resources = new Map<string, ResourceState>();
  private readonly waiters = new WaiterRegistry();
  private readonly records = new Map<string, IdempotencyRecord>();
  // One counter for all keys: strictly increasing per key too, and no entry outlives its lock.
  private lastFencingToken = 0;

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
  ): Promise<number | AcquireMiss> {
    const now = Date.now();
    const state = this.stateFor(resource.id);
    this.pruneWaiters(state, now);
    const { mode, limit } = resource;
    if (mode === 's') {
      const inUse = state.shared.size > 0 || state.queue.size > 0;
      if (inUse && state.permits !== undefined && state.permits !== limit) {
        throw new TypeError(MESSAGES.permitMismatch(resource.key, state.permits, limit));
      }
      state.permits = limit;
    }
    // Already this token's (a retry of a call whose reply was lost): renewed to the lease asked
    // for now, with a new fencing token.
    const own = this.holdOf(resource, state, token);
    if (own) {
      this.renew(resource, own, ttlMs);
      return ++this.lastFencingToken;
    }
    let free = state.exclusive === undefined;
    if (free)
      free = mode === 'x' ? state.shared.size === 0 : limit === 0 || state.shared.size < limit;

    const mine = state.queue.get(token);
    let head = firstKey(state.queue);
    let turn: boolean;
    if (mode === 'r') {
      const writer = firstWriter(state.queue);
      turn = writer === undefined || (mine !== undefined && mine.seq < writer.seq);
    } else {
      turn = head === undefined || head === token;
    }

    if (free && turn) {
      const hold: Hold = {
        token,
        ends: now + ttlMs,
        timer: this.expireLater(resource, token, ttlMs),
      };
      if (mode === 'x') state.exclusive = hold;
      else state.shared.set(token, hold);
      if (mine) {
        state.queue.delete(token);
        head = firstKey(state.queue);
      }
      if (head !== undefined && mode !== 'x') {
        const room = mode === 'r' ? !state.queue.get(head)?.writer : state.shared.size < limit;
        if (room) this.wake(head);
      }
      return ++this.lastFencingToken;
    }

    if (waiterLeaseMs > 0) {
      if (mine) mine.leaseEnd = now + waiterLeaseMs;
      else {
        state.queue.set(token, {
          seq: ++state.seq,
          writer: mode === 'x',
          leaseEnd: now + waiterLeaseMs,
        });
        head ??= token;
      }
    }
    if (free && head !== undefined && head !== token) this.wake(head);
    this.dropIfIdle(resource.id, state);
    if (head !== token) return NO_TURN;
    const blocking = state.exclusive ?? earliest(state.shared);
    return { retryInMs: blocking ? blocking.ends - now : -1 };
  }

  acquireFast(resource: LockResource, token: string, ttlMs: number): Promise<number | null> {
    return this.acquire(resource, token, ttlMs, 0).then((r) => (typeof r === 'number' ? r : null));
  }

  async release(resource: LockResource, token: string): Promise<boolean> {
    const state = this.resources.get(resource.id);
    const hold = state && this.holdOf(resource, state, token);
    if (!state || !hold) return false;
    this.drop(resource, state, hold);
    return true;
  }

  async extend(resource: LockResource, token: string, ttlMs: number): Promise<boolean> {
    const state = this.resources.get(resource.id);
    const hold = state && this.holdOf(resource, state, token);
    if (!hold) return false;
    this.renew(resource, hold, ttlMs);
    return true;
  }

  async leave(resource: LockResource, token: string): Promise<void> {
    const state = this.resources.get(resource.id);
    // A hold the token got meanwhile is given back: its caller does not know it has it.
    const hold = state && this.holdOf(resource, state, token);
    if (state && hold) {
      this.drop(resource, state, hold);
      return;
    }
    if (!state?.queue.has(token)) return;
    const wasHead = firstKey(state.queue) === token;
    state.queue.delete(token);
    const next = firstKey(state.queue);
    if (wasHead && next !== undefined) this.wake(next);
    this.dropIfIdle(resource.id, state);
  }

  async isLocked(resource: LockResource): Promise<boolean> {
    const state = this.resources.get(resource.id);
    return state !== undefined && (state.exclusive !== undefined || state.shared.size > 0);
  }

  async claim(
    resource: LockResource,
    token: string,
    ttlMs: number,
    fingerprint: string,
    retentionMs: number,
  ): Promise<ClaimReply> {
    const record = this.records.get(resource.id);
    if (record?.response !== undefined) {
      if (record.fingerprint !== fingerprint) return { kind: 'mismatch' };
      return { kind: 'done', response: record.response };
    }
    const holder = this.resources.get(resource.id)?.exclusive;
    if (holder && holder.token !== token && record && record.fingerprint !== fingerprint) {
      return { kind: 'mismatch' };
    }
    const taken = await this.acquire(resource, token, ttlMs, 0);
    if (typeof taken !== 'number') {
      const blocking = this.resources.get(resource.id)?.exclusive;
      return { kind: 'busy', retryInMs: blocking ? blocking.ends - Date.now() : 0 };
    }
    this.keepRecord(resource.id, { fingerprint, response: undefined }, retentionMs);
    return { kind: 'claimed', fencingToken: taken };
  }

  async complete(
    resource: LockResource,
    token: string,
    _fingerprint: string,
    response: string | null,
    retentionMs: number,
  ): Promise<CompleteReply> {
    const state = this.resources.get(resource.id);
    const hold = state && this.holdOf(resource, state, token);
    if (!state || !hold) return 'lost';
    const record = this.records.get(resource.id);
    if (response === null || !record) this.dropRecord(resource.id);
    else this.keepRecord(resource.id, { fingerprint: record.fingerprint, response }, retentionMs);
    this.drop(resource, state, hold);
    return 'released';
  }

  addWaiter(resource: LockResource, token: string): Waiter {
    return this.waiters.add(resource, token);
  }

  async listen(): Promise<boolean> {
    return false;
  }

  removeWaiter(waiter: Waiter): void {
    this.waiters.remove(waiter);
  }

  async checkSetup(): Promise<readonly string[]> {
    return [];
  }

  async health(): Promise<StoreHealth> {
    return { topology: 'memory', roundTripMs: 0 };
  }

  async close(): Promise<void> {
    for (const state of this.resources.values()) {
      if (state.exclusive) clearTimeout(state.exclusive.timer);
      for (const hold of state.shared.values()) clearTimeout(hold.timer);
    }
    this.resources.clear();
    this.waiters.clear();
    for (const record of this.records.values()) clearTimeout(record.timer);
    this.records.clear();
  }

  /** How many resources have state (held or waited for); for leak checks. */
  get size(): number {
    return this.resources.size;
  }

  private keepRecord(
    id: string,
    record: Omit<IdempotencyRecord, 'timer'>,
    retentionMs: number,
  ): void {
    this.dropRecord(id);
    const timer = setTimeout(() => this.records.delete(id), retentionMs);
    timer.unref();
    this.records.set(id, { ...record, timer });
  }

  private dropRecord(id: string): void {
    const record = this.records.get(id);
    if (record) clearTimeout(record.timer);
    this.records.delete(id);
  }

  private stateFor(id: string): ResourceState {
    let state = this.resources.get(id);
    if (!state) {
      state = {
        exclusive: undefined,
        shared: new Map(),
        queue: new Map(),
        seq: 0,
        permits: undefined,
      };
      this.resources.set(id, state);
    }
    return state;
  }

  /** `token`'s hold of the resource in the resource's mode, if it has one. */
  private holdOf(resource: LockResource, state: ResourceState, token: string): Hold | undefined {
    if (resource.mode !== 'x') return state.shared.get(token);
    return state.exclusive?.token === token ? state.exclusive : undefined;
  }

  private renew(resource: LockResource, hold: Hold, ttlMs: number): void {
    clearTimeout(hold.timer);
    hold.ends = Date.now() + ttlMs;
    hold.timer = this.expireLater(resource, hold.token, ttlMs);
  }

  private drop(resource: LockResource, state: ResourceState, hold: Hold): void {
    clearTimeout(hold.timer);
    if (state.exclusive === hold) state.exclusive = undefined;
    else state.shared.delete(hold.token);
    this.pruneWaiters(state, Date.now());
    const head = firstKey(state.queue);
    if (head !== undefined) this.wake(head);
    this.dropIfIdle(resource.id, state);
  }

  private pruneWaiters(state: ResourceState, now: number): void {
    for (const [token, entry] of state.queue) {
      if (entry.leaseEnd <= now) state.queue.delete(token);
    }
  }

  private dropIfIdle(id: string, state: ResourceState): void {
    if (!state.exclusive && state.shared.size === 0 && state.queue.size === 0) {
      this.resources.delete(id);
    }
  }

  private wake(token: string): void {
    this.waiters.wake(token);
  }

  private expireLater(resource: LockResource, token: string, ttlMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const state = this.resources.get(resource.id);
      const hold = resource.mode === 'x' ? state?.exclusive : state?.shared.get(token);
      if (state && hold?.token === token) this.drop(resource, state, hold);
    }, ttlMs);
    timer.unref();
    return timer;
  }
}

function firstKey<K, V>(map: Map<K, V>): K | undefined {
  for (const key of map.keys()) return key;
  return undefined;
}

function firstWriter(queue: Map<string, QueueEntry>): QueueEntry | undefined {
  for (const entry of queue.values()) if (entry.writer) return entry;
  return undefined;
}

function earliest(holds: Map<string, Hold>): Hold | undefined {
  let first: Hold | undefined;
  for (const hold of holds.values()) if (!first || hold.ends < first.ends) first = hold;
  return first;
}
