import type { LoggerService } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import type { Lock, MultiLock } from './interfaces/lock.interface';

/** Errors carry no key (keys are built from request data); the warning, like others, does. */
const HOLD_MESSAGES = {
  notSubscribed: (key: string, ms: number) =>
    `The Observable returned under lock "${key}" was not subscribed within ${ms} ms; ` +
    'the lock was released. Subscribe to it right away (Nest does for handlers).',
  runsOnce:
    'A locked Observable was subscribed again: it runs once, under the lock it was returned ' +
    'with. Call the locked method again instead.',
  expired: (ms: number) =>
    'A locked Observable was subscribed after its lock was released: it was not subscribed ' +
    `within ${ms} ms.`,
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
 * The watchdog keeps renewing the lock until it is released. A decorated method still returns
 * a Promise, here of this Observable: Nest flattens it for HTTP (`@Sse` too, which then holds
 * the lock for the whole stream), microservice and gateway handlers.
 */
export function holdUntilSettled<T>(source: Observable<T>, hold: ObservableHold): Observable<T> {
  const key = 'key' in hold.lock ? hold.lock.key : hold.lock.keys.join(', ');
  let state: State = 'waiting';
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => (released ??= hold.release());

  const unsubscribedTimer = setTimeout(() => {
    if (state !== 'waiting') return;
    state = 'expired';
    hold.logger.warn(HOLD_MESSAGES.notSubscribed(key, hold.subscribeWithinMs));
    void release();
  }, hold.subscribeWithinMs);
  // A process must not stay up for a subscription that may never come; the lease ends it anyway.
  unsubscribedTimer.unref();

  return new Observable<T>((subscriber) => {
    if (state === 'expired') {
      subscriber.error(new Error(HOLD_MESSAGES.expired(hold.subscribeWithinMs)));
      return undefined;
    }
    if (state !== 'waiting') {
      subscriber.error(new Error(HOLD_MESSAGES.runsOnce));
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
