import { slotOf } from '../../lib/stores/cluster-slot';
import { fencingCounterKey, hashTag } from '../../lib/stores/lock-resource';

/** The shared fencing counter of lock `key`'s Cluster slot. */
export function fenceKeyOf(key: string, prefix = 'lock:'): string {
  return fencingCounterKey(prefix, slotOf(hashTag(key)));
}

/** Whether a Redis key is one of the bounded per-slot fencing counters. */
export function isFenceCounter(redisKey: string): boolean {
  return /fence\{[0-9a-z]+\}$/.test(redisKey);
}
