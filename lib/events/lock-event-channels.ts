import { Channel, channel } from 'node:diagnostics_channel';
import { monotonicNow } from '../clock';
import { LockStoreUnavailableError } from '../errors/lock-store-unavailable.error';
import type { LockMode } from '../interfaces/lock-options.interface';
import type { LockResource } from '../stores/lock-resource';
import type { LockStore } from '../stores/lock-store.interface';
import type {
  IdempotencyRejectedReason,
  LockBusyReason,
  LockEvent,
  LockEventType,
  LockLostDetection,
} from './lock-event.interface';

/**
 * The `node:diagnostics_channel` channel of each event type: `nestjs-distributed-lock:<type>`.
 * Subscribe with `diagnostics_channel.subscribe(name, listener)`; a message is a `LockEvent`.
 */
export const LOCK_EVENT_CHANNELS: {
  readonly [T in LockEventType]: `nestjs-distributed-lock:${T}`;
} = {
  acquired: 'nestjs-distributed-lock:acquired',
  busy: 'nestjs-distributed-lock:busy',
  released: 'nestjs-distributed-lock:released',
  'renewal-failed': 'nestjs-distributed-lock:renewal-failed',
  lost: 'nestjs-distributed-lock:lost',
  'store-error': 'nestjs-distributed-lock:store-error',
  'idempotency-replayed': 'nestjs-distributed-lock:idempotency-replayed',
  'idempotency-rejected': 'nestjs-distributed-lock:idempotency-rejected',
  'idempotency-claim-lost': 'nestjs-distributed-lock:idempotency-claim-lost',
  leadership: 'nestjs-distributed-lock:leadership',
};

// Held for the life of the process: Node 20 may collect a channel object nobody references.
const acquired = channel(LOCK_EVENT_CHANNELS.acquired);
const busy = channel(LOCK_EVENT_CHANNELS.busy);
const released = channel(LOCK_EVENT_CHANNELS.released);
const renewalFailed = channel(LOCK_EVENT_CHANNELS['renewal-failed']);
const lost = channel(LOCK_EVENT_CHANNELS.lost);
const storeError = channel(LOCK_EVENT_CHANNELS['store-error']);
const replayed = channel(LOCK_EVENT_CHANNELS['idempotency-replayed']);
const rejected = channel(LOCK_EVENT_CHANNELS['idempotency-rejected']);
const claimLost = channel(LOCK_EVENT_CHANNELS['idempotency-claim-lost']);
const leadership = channel(LOCK_EVENT_CHANNELS.leadership);

/** Every channel, for a listener of all events. */
export const ALL_LOCK_EVENT_CHANNELS: readonly Channel[] = [
  acquired,
  busy,
  released,
  renewalFailed,
  lost,
  storeError,
  replayed,
  rejected,
  claimLost,
  leadership,
];

/**
 * Which `LockService` published a message: channels are process-wide, and each Nest
 * application's `LockEvents` passes on its own service's events only. Kept beside the message
 * rather than in it, so that listeners see the plain `LockEvent`.
 */
const sources = new WeakMap<object, number>();
const sourceIds = new WeakMap<object, number>();
let lastSourceId = 0;

/** The id under which `owner` (a `LockService`) publishes. */
export function eventSourceId(owner: object): number {
  let id = sourceIds.get(owner);
  if (id === undefined) {
    id = ++lastSourceId;
    sourceIds.set(owner, id);
  }
  return id;
}

/** The publisher's id of a channel message, if it is one of ours. */
export function eventSourceOf(message: unknown): number | undefined {
  return typeof message === 'object' && message !== null ? sources.get(message) : undefined;
}

function send(target: Channel, owner: object, event: LockEvent): void {
  sources.set(event, eventSourceId(owner));
  target.publish(event);
}

/*
 * Each function returns at once when nobody listens: no message is built. Nothing is caught
 * around `publish`: Node runs every subscriber in a try/catch of its own and reports a throw as
 * an uncaught exception on the next tick, so a listener never changes the outcome of the call
 * that publishes.
 */

/** A lock was taken; `since` is the monotonic time at which its call began. */
export function publishAcquired(
  owner: object,
  lock: { readonly key: string; readonly fencingToken: number; readonly resource: LockResource },
  mode: LockMode,
  since: number,
): void {
  if (!acquired.hasSubscribers) return;
  send(acquired, owner, {
    type: 'acquired',
    key: lock.key,
    mode: lock.resource.mode === 's' ? 'permit' : mode,
    fencingToken: lock.fencingToken,
    waitedMs: since > 0 ? monotonicNow() - since : 0,
  });
}

export function publishBusy(
  owner: object,
  key: string | readonly string[],
  reason: LockBusyReason,
  since: number,
): void {
  if (!busy.hasSubscribers) return;
  send(busy, owner, {
    type: 'busy',
    key,
    reason,
    waitedMs: monotonicNow() - since,
  });
}

/** A held lock was let go; `since` is the monotonic time at which it was taken. */
export function publishReleased(owner: object, key: string, since: number): void {
  if (!released.hasSubscribers) return;
  send(released, owner, {
    type: 'released',
    key,
    heldMs: monotonicNow() - since,
  });
}

export function publishRenewalFailed(owner: object, key: string, error: string): void {
  if (!renewalFailed.hasSubscribers) return;
  send(renewalFailed, owner, {
    type: 'renewal-failed',
    key,
    error,
  });
}

export function publishLost(
  owner: object,
  key: string,
  fencingToken: number,
  detectedBy: LockLostDetection,
  detail: string,
): void {
  if (!lost.hasSubscribers) return;
  send(lost, owner, {
    type: 'lost',
    key,
    fencingToken,
    detectedBy,
    detail,
  });
}

export function publishIdempotencyReplayed(owner: object, status: number): void {
  if (!replayed.hasSubscribers) return;
  send(replayed, owner, {
    type: 'idempotency-replayed',
    status,
  });
}

export function publishIdempotencyRejected(owner: object, reason: IdempotencyRejectedReason): void {
  if (!rejected.hasSubscribers) return;
  send(rejected, owner, {
    type: 'idempotency-rejected',
    reason,
  });
}

export function publishIdempotencyClaimLost(owner: object, fencingToken: number): void {
  if (!claimLost.hasSubscribers) return;
  send(claimLost, owner, {
    type: 'idempotency-claim-lost',
    fencingToken,
  });
}

export function publishLeadership(
  owner: object,
  name: string,
  leader: boolean,
  reason: 'elected' | 'lost' | 'resigned',
  fencingToken: number,
): void {
  if (!leadership.hasSubscribers) return;
  send(leadership, owner, { type: 'leadership', name, leader, reason, fencingToken });
}

/** The store methods whose failures are published (the ones that talk to the store). */
const OBSERVED_OPERATIONS = [
  'acquire',
  'acquireFast',
  'release',
  'extend',
  'leave',
  'isLocked',
  'claim',
  'complete',
  'listen',
  'checkSetup',
  'health',
] as const;

/**
 * Publishes `store-error` when a call of `store` rejects with `LockStoreUnavailableError`. The
 * methods are wrapped on the instance itself, which stays what it was for everything else.
 * The wrapper forwards `arguments` (no array built) and, when nobody listens, returns the
 * store's own promise untouched.
 */
export function publishStoreErrors<S extends LockStore>(store: S, owner: object): S {
  const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const operation of OBSERVED_OPERATIONS) {
    const call = methods[operation];
    if (typeof call !== 'function') continue;
    methods[operation] = function observed(this: unknown): Promise<unknown> {
      const result = call.apply(this, arguments as unknown as unknown[]);
      if (storeError.hasSubscribers) {
        Promise.resolve(result).catch((err: unknown) => {
          if (err instanceof LockStoreUnavailableError) publishStoreError(owner, operation, err);
        });
      }
      return result;
    };
  }
  return store;
}

function publishStoreError(owner: object, operation: string, err: Error): void {
  if (!storeError.hasSubscribers) return;
  const cause = err.cause instanceof Error ? err.cause : err;
  send(storeError, owner, {
    type: 'store-error',
    operation,
    error: cause.message,
  });
}
