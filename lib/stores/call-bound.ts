/** How long one store call may take: it settles by `deadline` (monotonic ms) or when `signal` aborts. */
export interface CallBound {
  readonly deadline: number;
  readonly signal?: AbortSignal;
}

/** The cause a store gives a `LockStoreUnavailableError` when a call ran out of its bound. */
export function boundReachedError(message: string): Error {
  const err = new Error(message);
  err.name = 'TimeoutError';
  return err;
}

/** Whether a store call failed because its bound ran out (rather than by an error reply). */
export function reachedBound(err: unknown): boolean {
  return err instanceof Error && err.cause instanceof Error && err.cause.name === 'TimeoutError';
}
