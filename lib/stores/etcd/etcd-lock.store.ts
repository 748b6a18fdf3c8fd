import { randomBytes } from 'node:crypto';
import { monotonicNow } from '../../clock';
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
import type {
  EtcdCallOptions,
  EtcdClient,
  EtcdKeyValue,
  EtcdRangeRequest,
  EtcdWatcher,
} from './etcd-client';
import { ETCD_MESSAGES } from './etcd.messages';

/** The lease of one token: its key in line (if any) lives and dies with it. */
interface TokenLease {
  /** etcd's lease ID (int64, as a decimal string). */
  id: string;
  /** The lease's TTL in whole seconds, as etcd granted it. */
  ttlSec: number;
  /** A key may be attached to it: a put with it was sent. */
  keyed: boolean;
  /** Monotonic ms after which etcd has surely let the lease expire, unless renewed since. */
  expires: number;
}

/** Whom a waiter waits for: the key just before its own in line, seen at `revision`. */
interface WaitTarget {
  prevKey: Buffer;
  revision: string;
  watcher: EtcdWatcher | undefined;
  /** The watched key was deleted: the waiter's turn may have come. */
  fired: boolean;
}

const NO_TURN: AcquireMiss = { retryInMs: -1 };
/** The least the map of leases is left to grow to before expired entries are swept. */
const SWEEP_FLOOR = 64;

/** A lease of `ms` in etcd's whole seconds, rounded up: never shorter than the client counts. */
export function leaseSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The first key after every key that starts with `prefix` (etcd's range end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** A random, positive, non-zero int64 lease ID. */
function newLeaseId(): string {
  const id = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
  return (id === 0n ? 1n : id).toString();
}

function isLeaseNotFound(err: unknown): boolean {
  const cause = err instanceof LockStoreUnavailableError ? err.cause : err;
  return cause instanceof Error && /lease not found/.test(cause.message);
}

/**
 * Exclusive locks on etcd, after etcd's own lock recipe (`clientv3/concurrency.Mutex`). Every
 * caller puts its key `<lock id>/<token>` under the lock's prefix, attached to a lease of its
 * own; the key with the lowest create revision holds the lock, the others wait in that order.
 * The holder's create revision is its fencing token: etcd's revision is one counter for the
 * whole cluster, raised by every write, so tokens strictly increase across holders and keys.
 *
 * - The uncontended acquire is a lease grant and one transaction that puts the key only if the
 *   lock's prefix is empty (a compare over the key range, etcd ≥ 3.3).
 * - A waiter's key lives for its waiter lease, renewed by keep-alive at each of its looks; at
 *   its turn the key moves to a lease of the lock's TTL (same key, same create revision).
 * - `extend` is one lease keep-alive (the watchdog's renewal); a longer TTL moves the key to a
 *   longer lease. `release` and `leave` revoke the lease, which deletes the key in the same step.
 * - A waiter watches the key just before its own (from the revision at which it saw it, so no
 *   deletion is missed) and is woken when it goes: fair, and no herd.
 *
 * Leases are whole seconds (rounded up, at least 1 s, and never under the cluster's minimum):
 * a holder that dies frees the lock when its lease ends in etcd, which may be later than the
 * engine's `ttl`; the holder still counts its lock lost at `ttl`. Read locks, semaphores and
 * idempotency claims are refused with a TypeError.
 */
export class EtcdLockStore implements LockStore {
  readonly distributed = true;
  private readonly waiters = new WaiterRegistry();
  private readonly leases = new Map<string, TokenLease>();
  private readonly targets = new Map<string, WaitTarget>();
  private sweepAt = SWEEP_FLOOR;
  private closed = false;

  constructor(
    private readonly client: EtcdClient,
    private readonly owned: boolean,
    private readonly commandTimeoutMs: number,
  ) {}

  async acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
    bound?: CallBound,
  ): Promise<number | AcquireMiss> {
    this.assertExclusive(resource);
    const key = keyOf(resource, token);
    const line = lineOf(resource);
    const queue = waiterLeaseMs > 0;
    const lease = await this.leaseFor(token, leaseSeconds(queue ? waiterLeaseMs : ttlMs), bound);
    lease.keyed = true;
    const first: EtcdRangeRequest = {
      key: line,
      range_end: prefixEnd(line),
      sort_order: 'Ascend',
      sort_target: 'Create',
      limit: 1,
      keys_only: true,
    };
    // Queued: put the key unless it is there. Not queued: put it only into an empty line.
    const reply = await this.call(
      (opts) =>
        this.client.kv.txn(
          {
            compare: queue
              ? [{ key, target: 'Create', result: 'Equal', create_revision: '0' }]
              : [
                  {
                    key: line,
                    range_end: prefixEnd(line),
                    target: 'Create',
                    result: 'Equal',
                    create_revision: '0',
                  },
                ],
            success: [
              { request_put: { key, lease: lease.id } },
              { request_range: first },
              { request_range: { key } },
            ],
            failure: [{ request_range: first }, { request_range: { key } }],
          },
          opts,
        ),
      bound,
    );
    const ranges = reply.responses.map((r) => r.response_range);
    const head = (reply.succeeded ? ranges[1] : ranges[0])?.kvs[0];
    const mine = (reply.succeeded ? ranges[2] : ranges[1])?.kvs[0];
    if (!queue && !reply.succeeded && !mine) {
      // Not queued and not put: no key of ours is attached to this lease.
      lease.keyed = false;
      return NO_TURN;
    }
    if (!mine) return NO_TURN;
    if (head && head.key.equals(key)) {
      this.dropTarget(token);
      // Put by this very call: its create revision is this write's revision.
      if (reply.succeeded) return Number(reply.header.revision);
      // Its turn came while it waited, or a retry: one more write on the key (moving it to a
      // lease as long as the lock's if need be) gives a fencing token above every earlier one.
      const fence = await this.moveKey(
        key,
        mine,
        token,
        Math.max(lease.ttlSec, leaseSeconds(ttlMs)),
        bound,
      );
      return fence ?? NO_TURN;
    }
    const prev = await this.aimAt(resource, token, mine, reply.header.revision, bound);
    // Next in line: the holder's lease is what it waits for.
    if (prev && head && prev.equals(head.key)) {
      return { retryInMs: await this.leaseLeft(head.lease, bound) };
    }
    return NO_TURN;
  }

  async acquireFast(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null> {
    const taken = await this.acquire(resource, token, ttlMs, 0, bound);
    return typeof taken === 'number' ? taken : null;
  }

  async release(
    resource: LockResource,
    token: string,
    _handedOver: boolean,
    bound?: CallBound,
  ): Promise<boolean> {
    if (resource.mode !== 'x') return false;
    const lease = this.leases.get(token);
    if (!lease) return false;
    // Revoking the lease deletes the key in the same step; the next in line sees it go.
    const revoked = await this.revoke(lease.id, bound);
    this.leases.delete(token);
    this.dropTarget(token);
    return revoked && lease.keyed;
  }

  async extend(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<boolean> {
    this.assertExclusive(resource);
    const lease = this.leases.get(token);
    if (!lease?.keyed) return false;
    const seconds = leaseSeconds(ttlMs);
    if (seconds <= lease.ttlSec) {
      // The lease still exists, so the key does: only a revoke or an expiry deletes it.
      if (await this.keepAlive(lease, bound)) return true;
      this.leases.delete(token);
      return false;
    }
    const key = keyOf(resource, token);
    const found = await this.call((opts) => this.client.kv.range({ key }, opts), bound);
    const kv = found.kvs[0];
    if (!kv || kv.lease !== lease.id) return false;
    return (await this.moveKey(key, kv, token, seconds, bound)) !== null;
  }

  async leave(resource: LockResource, token: string, bound?: CallBound): Promise<void> {
    this.dropTarget(token);
    if (resource.mode !== 'x') return;
    const lease = this.leases.get(token);
    if (!lease) return;
    await this.revoke(lease.id, bound);
    this.leases.delete(token);
  }

  async isLocked(resource: LockResource, bound?: CallBound): Promise<boolean> {
    if (resource.mode !== 'x') return false;
    const line = lineOf(resource);
    const found = await this.call(
      (opts) =>
        this.client.kv.range({ key: line, range_end: prefixEnd(line), count_only: true }, opts),
      bound,
    );
    return Number(found.count) > 0;
  }

  claim(): Promise<ClaimReply> {
    return Promise.reject(new TypeError(ETCD_MESSAGES.unsupported('Idempotency claims')));
  }

  complete(): Promise<CompleteReply> {
    return Promise.reject(new TypeError(ETCD_MESSAGES.unsupported('Idempotency claims')));
  }

  addWaiter(resource: LockResource, token: string): Waiter {
    return this.waiters.add(resource, token);
  }

  /**
   * Nothing to start: a waiter's watch is set up by the look that found whom it waits for,
   * from the revision of that look, so no wake-up before it is missed.
   */
  async listen(): Promise<boolean> {
    return false;
  }

  removeWaiter(waiter: Waiter): void {
    this.waiters.remove(waiter);
    this.dropTarget(waiter.token);
  }

  async checkSetup(): Promise<readonly string[]> {
    const status = await this.call((opts) => this.client.maintenance.status(opts));
    const [major, minor] = status.version.split('.').map(Number);
    if (major < 3 || (major === 3 && minor < 3)) return [ETCD_MESSAGES.oldServer(status.version)];
    return [];
  }

  async health(): Promise<StoreHealth> {
    const started = monotonicNow();
    const status = await this.call((opts) => this.client.maintenance.status(opts));
    if (status.leader === '0')
      throw new LockStoreUnavailableError(new Error(ETCD_MESSAGES.noLeader));
    return { topology: 'etcd', roundTripMs: monotonicNow() - started };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const token of [...this.targets.keys()]) this.dropTarget(token);
    this.waiters.clear();
    this.leases.clear();
    if (this.owned) this.client.close();
  }

  /** The token's lease, renewed, when it has one of `seconds`; otherwise a new one. */
  private async leaseFor(token: string, seconds: number, bound?: CallBound): Promise<TokenLease> {
    const known = this.leases.get(token);
    if (known && (known.keyed || known.ttlSec === seconds)) {
      if (await this.keepAlive(known, bound)) return known;
      // Expired: its key (if any) went with it.
      this.leases.delete(token);
    } else if (known) {
      // A lease of another length with no key on it (a missed fast acquire): let it go.
      this.leases.delete(token);
      void this.revoke(known.id).catch(() => undefined);
    }
    return this.grant(token, seconds, bound);
  }

  private async grant(token: string, seconds: number, bound?: CallBound): Promise<TokenLease> {
    const lease: TokenLease = {
      id: newLeaseId(),
      ttlSec: seconds,
      keyed: false,
      expires: monotonicNow() + this.commandTimeoutMs + seconds * 1000,
    };
    // Known before it is asked for, so that a `leave` after a lost reply revokes it.
    this.remember(token, lease);
    const sentAt = monotonicNow();
    const granted = await this.call(
      (opts) => this.client.leaseClient.leaseGrant({ TTL: seconds, ID: lease.id }, opts),
      bound,
    );
    // The cluster's minimum may have lengthened it.
    lease.ttlSec = Math.max(seconds, Number(granted.TTL) || seconds);
    lease.expires = sentAt + this.commandTimeoutMs + lease.ttlSec * 1000;
    return lease;
  }

  /** One keep-alive: resets the lease to its TTL. `false` when etcd no longer has it. */
  private async keepAlive(lease: TokenLease, bound?: CallBound): Promise<boolean> {
    const sentAt = monotonicNow();
    const ttl = await this.call(
      (opts) =>
        this.client.leaseClient.leaseKeepAlive(opts).then(
          (stream) =>
            new Promise<number>((resolve, reject) => {
              stream.on('data', (res) => {
                resolve(Number(res.TTL));
                stream.end();
              });
              stream.on('error', reject);
              stream.on('end', () => reject(new Error('etcd: the keep-alive stream ended')));
              stream.write({ ID: lease.id });
            }),
        ),
      bound,
    );
    if (ttl <= 0) return false;
    lease.expires = sentAt + this.commandTimeoutMs + ttl * 1000;
    return true;
  }

  /**
   * Writes the token's key again, if it is still the one seen (same create revision, so same
   * place in line), on a lease of `seconds`: the current one, renewed, or a new one (the old one
   * is then revoked). Resolves the write's revision, or `null` when the key is gone.
   */
  private async moveKey(
    key: Buffer,
    kv: EtcdKeyValue,
    token: string,
    seconds: number,
    bound?: CallBound,
  ): Promise<number | null> {
    const old = this.leases.get(token);
    const lease = old && old.ttlSec >= seconds ? old : await this.grant(token, seconds, bound);
    const moved = await this.call(
      (opts) =>
        this.client.kv.txn(
          {
            compare: [
              { key, target: 'Create', result: 'Equal', create_revision: kv.create_revision },
            ],
            success: [{ request_put: { key, lease: lease.id, ignore_value: true } }],
            failure: [],
          },
          opts,
        ),
      bound,
    );
    if (old && old.id !== lease.id) void this.revoke(old.id).catch(() => undefined);
    if (!moved.succeeded) {
      this.leases.delete(token);
      void this.revoke(lease.id).catch(() => undefined);
      return null;
    }
    lease.keyed = true;
    return Number(moved.header.revision);
  }

  /** How long a lease has left, in ms (at least 1): what the next in line waits for. */
  private async leaseLeft(id: string, bound?: CallBound): Promise<number> {
    try {
      const left = await this.call(
        (opts) => this.client.leaseClient.leaseTimeToLive({ ID: id }, opts),
        bound,
      );
      return Math.max(1, Number(left.TTL) * 1000);
    } catch (err) {
      if (bound?.signal?.aborted) throw err;
      return -1;
    }
  }

  /** Revokes a lease (deleting its key). `false` when etcd no longer had it. */
  private async revoke(id: string, bound?: CallBound): Promise<boolean> {
    try {
      await this.call((opts) => this.client.leaseClient.leaseRevoke({ ID: id }, opts), bound);
      return true;
    } catch (err) {
      if (isLeaseNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Records whom the waiter waits for: the key with the highest create revision below its own,
   * read at the revision of its look. A new target replaces a watch on an old one.
   */
  private async aimAt(
    resource: LockResource,
    token: string,
    mine: EtcdKeyValue,
    revision: string,
    bound?: CallBound,
  ): Promise<Buffer | undefined> {
    const target = this.targets.get(token);
    if (target && !target.fired) return target.prevKey;
    const line = lineOf(resource);
    let prev: EtcdKeyValue | undefined;
    try {
      const found = await this.call(
        (opts) =>
          this.client.kv.range(
            {
              key: line,
              range_end: prefixEnd(line),
              max_create_revision: String(Number(mine.create_revision) - 1),
              sort_order: 'Descend',
              sort_target: 'Create',
              limit: 1,
              keys_only: true,
              revision,
            },
            opts,
          ),
        bound,
      );
      prev = found.kvs[0];
    } catch (err) {
      if (bound?.signal?.aborted) throw err;
      // Unwatched, the waiter still looks again after its re-check interval.
      return undefined;
    }
    this.dropTarget(token);
    if (!prev || this.closed) return undefined;
    const next: WaitTarget = { prevKey: prev.key, revision, watcher: undefined, fired: false };
    this.targets.set(token, next);
    await this.watch(token, next, bound);
    return prev.key;
  }

  /**
   * Watches the key before the waiter's, from the revision at which the waiter saw it: a
   * deletion since then is still delivered, so none is missed.
   */
  private async watch(token: string, target: WaitTarget, bound?: CallBound): Promise<void> {
    let watcher: EtcdWatcher;
    try {
      watcher = await this.call(
        () =>
          this.client
            .watch()
            .key(target.prevKey)
            .startRevision(String(Number(target.revision) + 1))
            .only('delete')
            .create(),
        bound,
      );
    } catch {
      // The re-check interval covers it; the next look tries again.
      target.fired = true;
      return;
    }
    if (this.targets.get(token) !== target) {
      void watcher.cancel().catch(() => undefined);
      return;
    }
    target.watcher = watcher;
    const fire = (): void => {
      target.fired = true;
      this.waiters.wake(token);
    };
    watcher.on('delete', fire);
    watcher.on('error', fire);
  }

  private dropTarget(token: string): void {
    const target = this.targets.get(token);
    if (!target) return;
    this.targets.delete(token);
    void target.watcher?.cancel().catch(() => undefined);
  }

  private remember(token: string, lease: TokenLease): void {
    this.leases.set(token, lease);
    if (this.leases.size < this.sweepAt) return;
    // Leases of tokens never released (a lost lock left alone) are dropped once surely expired.
    const now = monotonicNow();
    for (const [t, l] of this.leases) if (l.expires < now) this.leases.delete(t);
    this.sweepAt = Math.max(SWEEP_FLOOR, this.leases.size * 2);
  }

  /**
   * One etcd call, bounded by the command timeout, the bound's deadline and its signal. A
   * failure or a timeout is a `LockStoreUnavailableError`; an abort rejects with its reason.
   */
  private call<T>(run: (opts: EtcdCallOptions) => Promise<T>, bound?: CallBound): Promise<T> {
    if (this.closed)
      return Promise.reject(new LockStoreUnavailableError(new Error(ETCD_MESSAGES.closed)));
    const signal = bound?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = monotonicNow();
    const own = now + this.commandTimeoutMs;
    const byBound = bound !== undefined && bound.deadline < own;
    const limit = byBound ? bound.deadline : own;
    const ms = Math.max(1, Math.ceil(limit - now));
    const sent = run({ deadline: new Date(Date.now() + ms) }).catch((err: unknown) => {
      throw new LockStoreUnavailableError(err);
    });
    return settleWithin(sent, now + ms, signal, () => {
      const message = ETCD_MESSAGES.timedOut('a call', ms);
      return new LockStoreUnavailableError(
        byBound ? boundReachedError(message) : new Error(message),
      );
    });
  }

  private assertExclusive(resource: LockResource): void {
    if (resource.mode === 'r') throw new TypeError(ETCD_MESSAGES.unsupported('Read locks'));
    if (resource.mode === 's') throw new TypeError(ETCD_MESSAGES.unsupported('Semaphores'));
  }
}

/** Where the callers of one lock put their keys: `<lock id>/`. */
function lineOf(resource: LockResource): Buffer {
  return Buffer.from(`${resource.id}/`);
}

function keyOf(resource: LockResource, token: string): Buffer {
  return Buffer.from(`${resource.id}/${token}`);
}
