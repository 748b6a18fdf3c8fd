import { describeValue } from './describe-value';

/** The longest delay `setTimeout` honours (2^31 - 1 ms); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_TEXT = `${MAX_TIMER_MS} (the largest delay setTimeout supports, about 24.8 days)`;

/** A duration used as a timer delay: an integer of ms in 1..MAX_TIMER_MS. */
export function assertTimerMs(
  value: unknown,
  name: string,
  label: string,
): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_TIMER_MS) {
    throw new TypeError(
      `${label} \`${name}\` must be an integer number of ms from 1 to ${MAX_TIMER_TEXT}, ` +
        `got ${describeValue(value)}.`,
    );
  }
}

/** How long to wait: a number of ms in 0..MAX_TIMER_MS, or Infinity (until free or aborted). */
export function assertWaitTimeout(value: unknown, label: string): asserts value is number {
  if (typeof value !== 'number' || !(value === Infinity || (value >= 0 && value <= MAX_TIMER_MS))) {
    throw new TypeError(
      `${label} \`waitTimeout\` must be a number of ms from 0 to ${MAX_TIMER_TEXT}, or ` +
        `Infinity, got ${describeValue(value)}.`,
    );
  }
}

/** A count: an integer >= 0. */
export function assertCount(value: unknown, name: string, label: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new TypeError(
      `${label} \`${name}\` must be an integer >= 0, got ${describeValue(value)}.`,
    );
  }
}

/** The size of a semaphore: an integer >= 1. */
export function assertPermits(value: unknown, where: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TypeError(`${where}: permits must be an integer >= 1, got ${describeValue(value)}.`);
  }
}
