export { LockEvents } from './lock-events.service';
export { LOCK_EVENT_CHANNELS } from './lock-event-channels';
export type {
  IdempotencyClaimLostEvent,
  IdempotencyRejectedEvent,
  IdempotencyRejectedReason,
  IdempotencyReplayedEvent,
  LockAcquiredEvent,
  LockBusyEvent,
  LockBusyReason,
  LockEvent,
  LockEventMode,
  LockEventType,
  LockLostDetection,
  LockLostEvent,
  LockReleasedEvent,
  LockRenewalFailedEvent,
  LockStoreErrorEvent,
  LeadershipEvent,
} from './lock-event.interface';
