import type { LoggerService } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import type { Lock, MultiLock } from './interfaces/lock.interface';

export const OBSERVABLE_HOLD_MESSAGES = {
  notSubscribed: (key: string, ms: number) =>
    `The Observable returned under lock "${key}" was not subscribed within ${ms} ms; ` +
    'the lock was released. Subscribe to it right away (Nest does for handlers).',
  runsOnce: (key: string) =>
    `The Observable returned under lock "${key}" was subscribed again: a locked Observable ` +
    'runs once, under the lock it was returned with. Call the locked method again instead.',
  expired: (key: string, ms: number) =>
    `The Observable returned under lock "${key}" was subscribed after its lock was released ` +
    `(it was not subscribed within ${ms} ms).`,
} as const;

/** What `holdUntilSettled` needs from the service that took the lock. */
export interface ObservableHold {
  readonly lock: Lock | MultiLock;
  /** How long the lock waits for the first subscription before it is released. */
  readonly subscribeWithinMs: number;
  readonly logger: Pick<LoggerService, 'warn'>;
  /** Runs `subscribe` inside the lock's reentrancy scope. */
  inScope(subscribe: () => void): unknown;
  /** The quiet release of the Promise path: never rejects. */
  release(): Promise<void>;
}

type State = 'waiting' | 'subscribed' | 'expired';

/**
 * Holds a lock for the life of the Observable a locked method (`@WithLock`, `@WithSemaphore`,
 * `using`) returned, instead of releasing it as soon as the Observable is returned, before any
 * of its work has run. The returned Observable:
 *
 * - subscribes to `source` inside the lock's reentrancy scope, so nested locked calls made by
 *   its work re-enter the lock as they would from an async method;
 * - releases the lock exactly once: when `source` completes or errors (the completion or the
 *   error is passed on only after the release, as the Promise path resolves after it), or when
 *   the subscriber unsubscribes (a client that went away);
 * - runs once: a second subscription, at the same time or later, errors at once and never runs
 *   `source`, so the work can never run without the lock;
 * - if it is not subscribed within `subscribeWithinMs` (the module's `ttl`), releases the lock
 *   with a warning; a later subscription errors without running `source`.
 *
 * The watchdog keeps renewing the lock until it is released.
 */
export function holdUntilSettled<T>(source: Observable<T>, hold: ObservableHold): Observable<T> {
  const key = 'key' in hold.lock ? hold.lock.key : hold.lock.keys.join(', ');
  let state: State = 'waiting';
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => (released ??= hold.release());

  const unsubscribedTimer = setTimeout(() => {
    if (state !== 'waiting') return;
    state = 'expired';
    hold.logger.warn(OBSERVABLE_HOLD_MESSAGES.notSubscribed(key, hold.subscribeWithinMs));
    void release();
  }, hold.subscribeWithinMs);
  // Nothing may wait for a subscription that will never come: the lease ends it anyway.
  unsubscribedTimer.unref();

  return new Observable<T>((subscriber) => {
    if (state === 'expired') {
      subscriber.error(new Error(OBSERVABLE_HOLD_MESSAGES.expired(key, hold.subscribeWithinMs)));
      return undefined;
    }
    if (state !== 'waiting') {
      subscriber.error(new Error(OBSERVABLE_HOLD_MESSAGES.runsOnce(key)));
      return undefined;
    }
    state = 'subscribed';
    clearTimeout(unsubscribedTimer);
    const settle = (notify: () => void): void => void release().then(notify);
    let inner: Subscription | undefined;
    hold.inScope(() => {
      inner = source.subscribe({
        next: (value) => subscriber.next(value),
        error: (err: unknown) => settle(() => subscriber.error(err)),
        complete: () => settle(() => subscriber.complete()),
      });
    });
    return () => {
      inner?.unsubscribe();
      void release();
    };
  });
}
