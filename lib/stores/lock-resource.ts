/** How a hold shares its resource: exclusive (plain or write lock), read lock, or semaphore permit. */
export type HoldMode = 'x' | 'r' | 's';

/** Everything a store needs to address one lockable resource in one mode. */
export interface LockResource {
  /** The key as the caller gave it. */
  readonly key: string;
  /** The store's name for the resource (prefix and hash tag included). */
  readonly id: string;
  /** L, F, Q, T, W, H, P, and N for a semaphore: see `lock-scripts.ts`. */
  readonly storeKeys: readonly string[];
  /** L and F: all the uncontended acquire touches. */
  readonly fastKeys: readonly string[];
  /**
   * L alone: all an exclusive holder's renewal and uncontended release touch. A command that
   * names one key keeps working while Redis Cluster migrates the slot key by key; one that names
   * several gets TRYAGAIN until they are all on one node (or all exist).
   */
  readonly holderKeys: readonly string[];
  /** Pub/sub channel on which the next waiter in line is woken. */
  readonly channel: string;
  readonly mode: HoldMode;
  /** Semaphore permits; 0 for locks. */
  readonly limit: number;
}

import { slotOf, tagForSlot } from './cluster-slot';

const SUFFIXES = ['', ':queue', ':waiters', ':writers', ':holders', ':handoff'];
const PERMITS_SUFFIX = ':permits';

/**
 * The key as it goes between the braces of the Redis Cluster hash tag. Cluster hashes the text
 * from the first '{' to the next '}', so a '}' in the key would cut the tag short (a key starting
 * with '}' would leave it empty, and every companion key would hash on its own name). '%' and '}'
 * are percent-encoded, so any string is safe and distinct keys stay distinct; the empty key,
 * whose tag would be empty too, becomes a lone '%', which no other key encodes to.
 */
export function hashTag(key: string): string {
  if (key === '') return '%';
  return key.replace(/[%}]/g, (c) => (c === '%' ? '%25' : '%7D'));
}

/**
 * The fencing counter of one Cluster slot, shared by every lock whose key hashes there: a
 * bounded set (at most 16384 per prefix) instead of one counter per lock, and each named with a
 * hash tag of that slot, so a script still touches one slot and the counter moves with it.
 */
export function fencingCounterKey(prefix: string, slot: number): string {
  return `${prefix}fence{${tagForSlot(slot)}}`;
}

export function lockResource(
  prefix: string,
  namespace: string,
  key: string,
  mode: HoldMode,
  limit = 0,
): LockResource {
  // The braces make the whole (encoded) key the Redis Cluster hash tag, shared by every
  // companion key.
  const tag = hashTag(key);
  const id = `${prefix}${namespace}{${tag}}`;
  const fence = fencingCounterKey(prefix, slotOf(tag));
  const storeKeys = SUFFIXES.map((suffix) => id + suffix);
  storeKeys.splice(1, 0, fence);
  // A semaphore keeps its permit count next to it, so that every caller counts the same permits.
  if (mode === 's') storeKeys.push(id + PERMITS_SUFFIX);
  return {
    key,
    id,
    storeKeys,
    fastKeys: [id, fence],
    holderKeys: [id],
    channel: `${id}:wake`,
    mode,
    limit,
  };
}
