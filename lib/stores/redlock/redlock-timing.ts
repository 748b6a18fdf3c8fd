import { LEASE_DRIFT_FACTOR } from '../../distributed-lock.constants';
import { leaseDrift } from '../../lock-handle';

/** Redlock's defaults: the drift share of the Redlock paper, and the retry jitter in ms. */
export const DEFAULT_DRIFT_FACTOR = 0.01;
export const DEFAULT_RETRY_JITTER_MS = 50;
/**
 * A round never waits less for a master than this, however short the lease: a busy event loop
 * alone can delay an answer by tens of ms.
 */
const MIN_MASTER_TIMEOUT_MS = 50;
/** By default a round waits for a master this share of the lease at most. */
const MASTER_TIMEOUT_SHARE = 1 / 20;

/** What a Redlock store needs to time its rounds. */
export interface RedlockTiming {
  readonly driftFactor: number;
  readonly retryJitter: number;
  /** Fixed per-master timeout, or undefined: derived from each lease. */
  readonly masterTimeout: number | undefined;
  readonly commandTimeout: number;
}

/**
 * The lease asked of each master for a lock whose holder counts on `ttl`. A lock's deadline is
 * `sent + ttl − (1 % of ttl + 2 ms)` (`provenLeaseEnd`), which is Redlock's validity for a drift
 * factor of 1 %. A larger factor asks the masters for a longer lease instead, just long enough
 * that the same deadline is Redlock's validity under that factor:
 * `px − (px × driftFactor + 2) ≥ ttl − leaseDrift(ttl)`. A smaller one changes nothing (the
 * engine's 1 % is then the stricter).
 */
export function leaseOnMasters(ttl: number, driftFactor: number): number {
  if (driftFactor <= LEASE_DRIFT_FACTOR) return ttl;
  return Math.ceil((ttl - leaseDrift(ttl) + leaseDrift(0)) / (1 - driftFactor));
}

/** How long one round waits for each master: small against the lease. */
export function masterTimeoutFor(ttl: number, timing: RedlockTiming): number {
  if (timing.masterTimeout !== undefined) return timing.masterTimeout;
  const share = Math.max(MIN_MASTER_TIMEOUT_MS, Math.floor(ttl * MASTER_TIMEOUT_SHARE));
  return Math.min(timing.commandTimeout, share);
}

/** A waiter's next try: 1 to `retryJitter` ms from now, at random, so that rivals spread out. */
export function retryDelay(retryJitter: number): number {
  return 1 + Math.floor(Math.random() * retryJitter);
}
