/** How a hold shares its resource: exclusive (plain or write lock), read lock, or semaphore permit. */
export type HoldMode = 'x' | 'r' | 's';

/** Everything a store needs to address one lockable resource in one mode. */
export interface LockResource {
  /** The key as the caller gave it. */
  readonly key: string;
  /** The store's name for the resource (prefix and hash tag included). */
  readonly id: string;
  /** L, F, Q, T, W, H, P: see `lock-scripts.ts`. */
  readonly storeKeys: readonly string[];
  /** L and F: all the uncontended acquire touches. */
  readonly fastKeys: readonly string[];
  /** Pub/sub channel on which the next waiter in line is woken. */
  readonly channel: string;
  readonly mode: HoldMode;
  /** Semaphore permits; 0 for locks. */
  readonly limit: number;
}

const SUFFIXES = ['', ':fence', ':queue', ':waiters', ':writers', ':holders', ':handoff'];

export function lockResource(
  prefix: string,
  namespace: string,
  key: string,
  mode: HoldMode,
  limit = 0,
): LockResource {
  // The braces make the whole key the Redis Cluster hash tag, shared by every companion key.
  const id = `${prefix}${namespace}{${key}}`;
  return {
    key,
    id,
    storeKeys: SUFFIXES.map((suffix) => id + suffix),
    fastKeys: [id, id + SUFFIXES[1]],
    channel: `${id}:wake`,
    mode,
    limit,
  };
}
