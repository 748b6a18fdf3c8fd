import type { LeaderElectionOptions } from './leader-election-options.interface';
import { DEFAULT_MAX_RETRY_DELAY_MS, DEFAULT_RETRY_DELAY_MS } from './leader.constants';
import { describeType } from '../validation/describe-value';
import { assertKnownOptions } from '../validation/known-options';
import { assertTimerMs } from '../validation/number-options';

const OPTION_NAMES: readonly (keyof LeaderElectionOptions)[] = [
  'lease',
  'retryDelay',
  'maxRetryDelay',
];

export interface ResolvedLeaderElectionOptions {
  /** `undefined`: the module's `ttl`. */
  lease: number | undefined;
  retryDelay: number;
  maxRetryDelay: number;
}

/** A leadership's name: a non-empty string (names come from code, so the message may show it). */
export function assertLeadershipName(name: unknown, where: string): asserts name is string {
  if (typeof name === 'string' && name.trim().length > 0) return;
  throw new TypeError(
    `${where}: the leadership name must be a non-empty string, got ` +
      `${typeof name === 'string' ? JSON.stringify(name) : describeType(name)}.`,
  );
}

export function resolveLeaderElectionOptions(
  options: LeaderElectionOptions | undefined,
  where: string,
): ResolvedLeaderElectionOptions {
  const label = `${where} option`;
  if (options !== undefined) assertKnownOptions(options, OPTION_NAMES, label);
  const { lease, retryDelay, maxRetryDelay } = options ?? {};
  if (lease !== undefined) assertTimerMs(lease, 'lease', label);
  if (retryDelay !== undefined) assertTimerMs(retryDelay, 'retryDelay', label);
  if (maxRetryDelay !== undefined) assertTimerMs(maxRetryDelay, 'maxRetryDelay', label);
  const resolved = {
    lease,
    retryDelay: retryDelay ?? DEFAULT_RETRY_DELAY_MS,
    maxRetryDelay: maxRetryDelay ?? Math.max(DEFAULT_MAX_RETRY_DELAY_MS, retryDelay ?? 0),
  };
  if (resolved.maxRetryDelay < resolved.retryDelay) {
    throw new TypeError(
      `${label} \`maxRetryDelay\` (${resolved.maxRetryDelay}) must not be less than ` +
        `\`retryDelay\` (${resolved.retryDelay}).`,
    );
  }
  return resolved;
}

export function sameOptions(
  a: ResolvedLeaderElectionOptions,
  b: ResolvedLeaderElectionOptions,
): boolean {
  return (
    a.lease === b.lease && a.retryDelay === b.retryDelay && a.maxRetryDelay === b.maxRetryDelay
  );
}
