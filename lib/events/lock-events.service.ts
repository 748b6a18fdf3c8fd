import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { ChannelListener } from 'node:diagnostics_channel';
import { Observable, share, Subscriber } from 'rxjs';
import { LockService } from '../lock.service';
import { ALL_LOCK_EVENT_CHANNELS, eventSourceId, eventSourceOf } from './lock-event-channels';
import type { LockEvent } from './lock-event.interface';

/**
 * The lock events of this application's `LockService`, for Nest code: `events$` emits every
 * `LockEvent` (acquired, busy, released, renewal-failed, lost, store-error and the idempotency
 * events). It listens on the `node:diagnostics_channel` channels only while someone is
 * subscribed, and completes when the application shuts down.
 */
@Injectable()
export class LockEvents implements OnApplicationShutdown {
  /**
   * Every event of this application's lock service, as it happens. Hot: a subscriber sees the
   * events from its subscription on. An observer that throws does not change the call that
   * published the event (RxJS reports its error asynchronously).
   */
  readonly events$: Observable<LockEvent>;
  private readonly listening = new Set<Subscriber<LockEvent>>();
  private closed = false;

  /** Nest injects the module's `LockService`: only its events are emitted. */
  constructor(@Inject(LockService) locks: LockService) {
    const source = eventSourceId(locks);
    this.events$ = new Observable<LockEvent>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      const listener: ChannelListener = (message) => {
        if (eventSourceOf(message) === source) subscriber.next(message as LockEvent);
      };
      for (const channel of ALL_LOCK_EVENT_CHANNELS) channel.subscribe(listener);
      this.listening.add(subscriber);
      return () => {
        this.listening.delete(subscriber);
        for (const channel of ALL_LOCK_EVENT_CHANNELS) channel.unsubscribe(listener);
      };
    }).pipe(share());
  }

  /** Nest's shutdown hook: completes `events$`; no channel listener outlives the application. */
  onApplicationShutdown(): void {
    this.closed = true;
    for (const subscriber of [...this.listening]) subscriber.complete();
  }
}
