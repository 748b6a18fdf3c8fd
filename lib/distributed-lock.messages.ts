export const MESSAGES = {
  notAcquired: 'The resource is locked by another request; try again later.',
  unavailable: 'The lock store is unavailable; the operation was not run.',
  keyInvalid: 'A value this request needs is missing or invalid; the operation was not run.',
  lost: (key: string, why: string) => `Lock "${key}" was lost: ${why}`,
  releaseFailed: (key: string) =>
    `Releasing lock "${key}" failed; it will expire at the end of its lease.`,
  redisError: (detail: string) =>
    `Redis connection error: ${detail}. Locks fail closed until it is back.`,
  runningUnlocked:
    'The lock store is unavailable; running the method unlocked because onUnavailable is "run".',
  subscriberError: (detail: string) =>
    `Redis wake-up connection error: ${detail}. Waiters fall back to re-checking on their interval.`,
  upgrade: (key: string) =>
    `Cannot take the write lock on "${key}": this call chain holds its read lock, and waiting ` +
    'for the write lock would wait for itself. Release the read lock first.',
  evictionPolicy: (policy: string) =>
    `Redis evicts keys under memory pressure (maxmemory-policy ${policy}): a held lock can be ` +
    'evicted and handed to a second caller. Set maxmemory-policy to noeviction for the lock store.',
  setupUnchecked: (detail: string) =>
    `Could not check the lock store's settings at start (${detail}); checking again is not retried.`,
  notReplicated: (acks: number, replicas: number, ms: number) =>
    `the new lock reached ${acks} of the ${replicas} replicas required within ${ms} ms`,
  selfWait: (key: string) =>
    `Waiting for lock "${key}", which this call chain already holds: a nested call waits for ` +
    'itself until its waitTimeout. Release it first, or turn on `reentrant`.',
  inMemoryWarning:
    'DistributedLockModule: no `redis` option given, using the in-memory store. ' +
    'Locks are NOT shared between processes.',
  notRegistered: (where: string) =>
    `@WithLock on ${where}: no LockService is bound to this instance. ` +
    'Import DistributedLockModule.forRoot() in the application and let Nest create the class ' +
    '(as a provider or controller).',
  ambiguousService: (where: string) =>
    `@WithLock on ${where}: this instance was not created by a Nest application that imports ` +
    'DistributedLockModule, and several applications are running, so the lock store is ambiguous.',
  permitMismatch: (key: string, inUse: number, asked: number) =>
    `Semaphore "${key}" is in use with ${inUse} permits; this call asked for ${asked}. ` +
    'Use one permit count per key.',
  notReplayable: (what: string) =>
    `Idempotency: ${what} cannot be stored whole (a stream, or not JSON); the claim is given ` +
    'back and a retry will run again.',
  idempotencyUnguarded:
    'The lock store is unavailable; running without idempotency because onUnavailable is "run".',
  idempotencyRejected: (why: string) => `Idempotency: a request was refused: ${why}.`,
  idempotencyReplayed: (status: number) => `Idempotency: replayed a stored ${status} response.`,
  recordUnreadable:
    'Idempotency: a stored outcome cannot be read back; answering 500 without running again.',
  claimLost:
    'Idempotency: the claim was lost before the outcome was stored (its lease ended); the ' +
    'outcome is not kept, and a retry may run the work again. Make the work conditional on ' +
    'the fencing token.',
  completionFailed: (detail: string) =>
    `Idempotency: storing the outcome failed (${detail}); retrying in the background while ` +
    'the claim lasts.',
  idempotencyNotRegistered: (where: string) =>
    `@Idempotent on ${where}: no IdempotencyService in this application. Import ` +
    'DistributedLockModule.forRoot() in it.',
  idempotencyHttpOnly: (where: string) =>
    `@Idempotent on ${where} acts on HTTP handlers only; this call ran without it. ` +
    'Use IdempotencyService.run elsewhere.',
} as const;
