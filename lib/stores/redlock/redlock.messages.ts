/** What the Redlock store says, kept out of its logic. */
export const REDLOCK_MESSAGES = {
  unsupported: (what: string) =>
    `${what} are not supported by the Redlock store (the \`redlock\` option): only exclusive ` +
    'locks (acquire, tryAcquire, using, @WithLock, in exclusive or write mode) are. Use a ' +
    'single Redis (the `redis` option) for them.',
  evenMasters: (n: number) =>
    `Redlock over ${n} masters: an even number tolerates no more failures than ${n - 1} ` +
    `(a majority of ${Math.floor(n / 2) + 1} is needed); an odd number is advised.`,
  noMajority: (answered: number, n: number, q: number, ms: number) =>
    `Redlock: ${answered} of ${n} masters answered within ${ms} ms; a majority of ${q} is needed`,
  fenceNotRaised: (raised: number, n: number, q: number) =>
    `Redlock: the fencing token reached ${raised} of ${n} masters in time; a majority of ${q} ` +
    'is needed',
  leaseEaten: (elapsedMs: number, ttlMs: number) =>
    `Redlock: the masters' answers took ${elapsedMs} ms, leaving no valid part of the ` +
    `${ttlMs} ms lease`,
  notRenewed: (renewed: number, n: number, q: number, ms: number) =>
    `Redlock: ${renewed} of ${n} masters confirmed the renewal within ${ms} ms; a majority of ` +
    `${q} is needed`,
  releaseUnanswered: (key: string, silent: number) =>
    `Redlock: releasing lock "${key}", ${silent} master(s) did not answer; the key there ` +
    'expires at the end of its lease.',
  masterUnchecked: (name: string) =>
    `Redlock: ${name} did not answer at start; its settings were not checked.`,
} as const;
