import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on a monotonic clock: leases and bounds are measured on it, so a wall-clock
 * step (NTP, a VM resuming) can neither stretch nor shorten them.
 */
export function monotonicNow(): number {
  return performance.now();
}

/** The wall-clock time (epoch ms) that corresponds to `monotonic`, for people to read. */
export function toEpochMs(monotonic: number): number {
  return Date.now() + (monotonic - monotonicNow());
}
