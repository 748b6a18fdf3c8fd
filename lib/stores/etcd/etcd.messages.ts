/** What the etcd store says, kept out of its logic. */
export const ETCD_MESSAGES = {
  unsupported: (what: string) =>
    `${what} are not supported on the etcd store (the \`etcd\` option): only exclusive locks ` +
    '(acquire, tryAcquire, using, @WithLock, in exclusive or write mode) are. Use Redis (the ' +
    '`redis` option) or the in-memory store for them.',
  missingPackage:
    'The `etcd` option needs the `etcd3` package, an optional peer dependency of ' +
    'nestjs-distributed-lock: run `npm install etcd3`.',
  timedOut: (what: string, ms: number) => `etcd: ${what} got no answer within ${ms} ms`,
  closed: 'etcd: the store is closed',
  oldServer: (version: string) =>
    `etcd ${version} is older than 3.3: the lock transaction compares a key range, which ` +
    'etcd supports from 3.3 on. Upgrade etcd.',
  noLeader: 'etcd: the member answered without a leader; locks cannot be taken until it has one.',
} as const;
