import type { LockResource } from './lock-resource';
import { HandOver, Waiter } from './waiter';

/** The waiters of one store, by token: where wake-ups and hand-overs are delivered. */
export class WaiterRegistry {
  private readonly waiters = new Map<string, Waiter>();

  add(resource: LockResource, token: string): Waiter {
    const waiter = new Waiter(resource.channel, token);
    this.waiters.set(token, waiter);
    return waiter;
  }

  remove(waiter: Waiter): void {
    this.waiters.delete(waiter.token);
  }

  wake(token: string, handOver?: HandOver): void {
    this.waiters.get(token)?.wake(handOver);
  }

  clear(): void {
    this.waiters.clear();
  }
}
