import type { CallBound } from './call-bound';
import type { LockResource } from './lock-resource';
import type { Waiter } from './waiter';

/** An attempt that did not get the resource. */
export interface AcquireMiss {
  /** When this caller is next in line: ms until the blocking lease ends; otherwise -1. */
  readonly retryInMs: number;
}

/** What an idempotency claim found. */
export type ClaimReply =
  | { readonly kind: 'claimed'; readonly fencingToken: number }
  | { readonly kind: 'busy'; readonly retryInMs: number }
  | { readonly kind: 'done'; readonly response: string }
  | { readonly kind: 'mismatch' };

/** What a health check found: how the store is deployed, and how long a read-only round trip took. */
export interface StoreHealth {
  /** The built-in stores' names; a store of your own may give its own. */
  readonly topology:
    'memory' | 'single' | 'sentinel' | 'cluster' | 'redlock' | 'postgres' | 'etcd' | (string & {});
  /** The slowest node's answer to a read-only round trip (`PING`, `SELECT 1`), in ms (0 for the memory store). */
  readonly roundTripMs: number;
}

/** How a completion ended: `'handoff'` means stored, with others waiting for the lock. */
export type CompleteReply = 'released' | 'handoff' | 'lost';

/**
 * One backend of the lock engine. Every method that touches the store is one atomic step (one
 * round trip on Redis). Methods reject with a `LockStoreUnavailableError` when the store cannot
 * be reached or fails, and settle by the `bound` they are given (its deadline, or its signal's
 * abort, rejecting with the signal's reason) and by the store's own command timeout. Every
 * method is safe to repeat with the same token: a call whose reply was lost may be sent again.
 */
export interface LockStore {
  /**
   * Takes the resource if it is free and it is this caller's turn. Otherwise, when
   * `waiterLeaseMs` > 0, queues the caller (or renews its place) for that long.
   * Resolves the new fencing token, or a miss. When `token` already holds the resource (a call
   * whose reply was lost, or a hand-over whose message was missed) it succeeds: the lease is
   * renewed to `ttlMs` and the fencing token is a new one. Throws a `TypeError` when a
   * semaphore in use (held or waited for) has another permit count than `resource.limit`.
   */
  acquire(
    resource: LockResource,
    token: string,
    ttlMs: number,
    waiterLeaseMs: number,
    bound?: CallBound,
  ): Promise<number | AcquireMiss>;
  /**
   * The uncontended exclusive acquire: takes the resource if nobody holds it and nobody waits,
   * never queues. Resolves the new fencing token or `null`; when `token` already holds it,
   * renews it like `acquire` (or resolves `null`, and `acquire` then succeeds).
   */
  acquireFast(
    resource: LockResource,
    token: string,
    ttlMs: number,
    bound?: CallBound,
  ): Promise<number | null>;
  /**
   * Releases `token`'s hold and hands the resource to the next in line. Resolves `false`, and
   * changes nothing, when `token` holds nothing (say, a repeated release). `handedOver`: the
   * hold came from a hand-over, so others probably wait (a hint only: the store tells by itself).
   */
  release(
    resource: LockResource,
    token: string,
    handedOver: boolean,
    bound?: CallBound,
  ): Promise<boolean>;
  /** Resets the lease of `token`'s hold to `ttlMs`. */
  extend(resource: LockResource, token: string, ttlMs: number, bound?: CallBound): Promise<boolean>;
  /**
   * Removes a waiter that gave up from the line; a hold its token got meanwhile (handed over,
   * or taken by a call whose reply was lost) is given back to the next in line.
   */
  leave(resource: LockResource, token: string, bound?: CallBound): Promise<void>;
  isLocked(resource: LockResource, bound?: CallBound): Promise<boolean>;
  /**
   * Idempotency, in one atomic step (`fingerprint` is a hex digest): a completed record with this fingerprint is `done` (with
   * its response), with another one `mismatch`; a record in flight under another token is
   * `busy` (or `mismatch` when its fingerprint differs); otherwise the caller takes the
   * resource's exclusive lock (as `acquireFast` would, or renewing it when `token` holds it)
   * and the record, kept `retentionMs`, and gets a fencing token.
   */
  claim(
    resource: LockResource,
    token: string,
    ttlMs: number,
    fingerprint: string,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<ClaimReply>;
  /**
   * Ends `token`'s claim in one step, if it still holds it (`'lost'` otherwise, changing
   * nothing): stores `response` for `retentionMs` (`null`: drops the record, so that the next
   * claim runs again) and lets go of the lock; `'handoff'` when others wait, and `release`
   * must then be called to hand it over. `fingerprint` is the one the claim was made with.
   */
  complete(
    resource: LockResource,
    token: string,
    fingerprint: string,
    response: string | null,
    retentionMs: number,
    bound?: CallBound,
  ): Promise<CompleteReply>;
  /** Registers a waiter so that wake-ups for its token reach it. Synchronous and local. */
  addWaiter(resource: LockResource, token: string): Waiter;
  /**
   * Makes sure wake-ups for the waiter's resource are being received. Resolves `true` when
   * that started now (a wake-up before it may have been missed: the caller must check again
   * before sleeping), `false` when it was already the case or is not possible (the caller then
   * relies on its re-check interval, and may call again to retry a failed subscription).
   */
  listen(waiter: Waiter, bound?: CallBound): Promise<boolean>;
  removeWaiter(waiter: Waiter): void;
  /**
   * Checks the store's configuration once at start: resolves the problems found (for example
   * an eviction policy that may drop held locks), each a sentence for the log.
   */
  checkSetup(): Promise<readonly string[]>;
  /**
   * A read-only round trip for health checks (`PING` to every master), within the command
   * timeout; writes nothing. Rejects with a `LockStoreUnavailableError` when the store does not
   * answer.
   */
  health(): Promise<StoreHealth>;
  /** Frees what the store owns (connections, timers). */
  close(): Promise<void>;
  /** Whether the store shares locks between processes. */
  readonly distributed: boolean;
}
