import { monotonicNow } from '../clock';

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

/**
 * `promise`, or a rejection when `deadline` (monotonic ms; `Infinity`: none) passes, with the
 * error `onTimeout` makes, or when `signal` aborts, with its reason. The one timer and listener
 * are gone as soon as it settles. Every store bounds its calls with it.
 */
export function settleWithin<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  onTimeout: (budgetMs: number) => Error,
): Promise<T> {
  if (signal?.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const budget = Math.max(0, deadline - monotonicNow());
    const settle = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      settle();
      reject(signal?.reason);
    };
    const timer = Number.isFinite(budget)
      ? setTimeout(() => {
          settle();
          reject(onTimeout(budget));
        }, budget)
      : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}
