import { AsyncLocalStorage } from 'node:async_hooks';
import type { ActiveClaim } from './claim-engine';

/** What an idempotent call chain holds, and whether its handler has started. */
export interface IdempotencyScopeState {
  readonly claim: ActiveClaim;
  /** Set when the decorated method itself runs: errors before it (pipes) are not outcomes. */
  started: boolean;
}

export const idempotencyScope = new AsyncLocalStorage<IdempotencyScopeState>();

/** Called by the `@Idempotent()` method wrapper as the handler starts. */
export function markHandlerStarted(): void {
  const state = idempotencyScope.getStore();
  if (state) state.started = true;
}
