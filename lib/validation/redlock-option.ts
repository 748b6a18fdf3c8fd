import { describeValue } from './describe-value';
import { assertKnownOptions } from './known-options';
import { assertTimerMs } from './number-options';
import { REDLOCK_OPTION_NAMES } from './option-names';
import { assertRedisOption } from './redis-option';

const LABEL = 'DistributedLockModule option `redlock`';
/** Redlock needs a majority that survives a failure: 3 masters tolerate one. */
export const MIN_REDLOCK_MASTERS = 3;
/** A larger share would leave little of a lease; a clock that wrong is a broken clock. */
export const MAX_DRIFT_FACTOR = 0.5;

/**
 * Checks the `redlock` module option without connecting, and that it does not come with the
 * options it replaces: `redis` (one store or the other) and `syncReplicas` (the majority of
 * masters is Redlock's answer to failover, `WAIT` on one of them is not).
 */
export function assertRedlockOption(redlock: unknown, others: Record<string, unknown>): void {
  if (redlock === undefined) return;
  if (others.redis !== undefined) {
    throw new TypeError(
      'DistributedLockModule options `redis` and `redlock` are mutually exclusive: give `redis` ' +
        'for one Redis (or Sentinel, or Cluster), `redlock: { masters }` for independent masters.',
    );
  }
  if (others.syncReplicas !== undefined && others.syncReplicas !== 0) {
    throw new TypeError(
      'DistributedLockModule option `syncReplicas` applies to one Redis with replicas; with ' +
        '`redlock` the majority of independent masters keeps a lock through a failure. Remove it.',
    );
  }
  assertKnownOptions(redlock, REDLOCK_OPTION_NAMES, `${LABEL}`);
  const { masters, driftFactor, retryJitter, masterTimeout } = redlock;
  if (!Array.isArray(masters)) {
    throw new TypeError(
      `${LABEL} \`masters\` must be an array of redis:// URLs, ioredis options or clients, ` +
        `got ${describeValue(masters)}.`,
    );
  }
  if (masters.length < MIN_REDLOCK_MASTERS) {
    throw new TypeError(
      `${LABEL} \`masters\` needs at least ${MIN_REDLOCK_MASTERS} independent masters ` +
        `(a majority must survive a failure), got ${masters.length}.`,
    );
  }
  const seen = new Set<string>();
  masters.forEach((master: unknown, i) => {
    assertRedisOption(master, `${LABEL} \`masters[${i}]\``);
    // The same master twice would count one vote as two.
    const same = typeof master === 'string' ? master : undefined;
    if (same !== undefined && seen.has(same)) {
      throw new TypeError(`${LABEL} \`masters[${i}]\` repeats an earlier master: give each once.`);
    }
    if (same !== undefined) seen.add(same);
    if (typeof master === 'object' && masters.indexOf(master) !== i) {
      throw new TypeError(`${LABEL} \`masters[${i}]\` repeats an earlier master: give each once.`);
    }
  });
  if (driftFactor !== undefined) {
    if (typeof driftFactor !== 'number' || !(driftFactor >= 0 && driftFactor <= MAX_DRIFT_FACTOR)) {
      throw new TypeError(
        `${LABEL} \`driftFactor\` must be a number from 0 to ${MAX_DRIFT_FACTOR}, ` +
          `got ${describeValue(driftFactor)}.`,
      );
    }
  }
  if (retryJitter !== undefined) assertTimerMs(retryJitter, 'retryJitter', LABEL);
  if (masterTimeout !== undefined) assertTimerMs(masterTimeout, 'masterTimeout', LABEL);
}
