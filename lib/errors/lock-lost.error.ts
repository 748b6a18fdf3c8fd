/**
 * The reason given to `lock.signal` when a held lock is lost: a renewal found it expired or
 * owned by someone else, or renewals kept failing until the lease ran out.
 */
export class LockLostError extends Error {
  /** `message` says how the loss was detected. */
  constructor(
    /** The key of the lost lock. */
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'LockLostError';
  }
}
