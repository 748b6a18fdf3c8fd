import { monotonicNow } from './clock';

const FIRST_PAUSE_MS = 25;
const LONGEST_PAUSE_MS = 1_000;

/**
 * Store calls that must happen eventually but that nobody waits for (a release or a leave
 * whose reply was lost): repeated with growing pauses until one succeeds or `until`
 * (monotonic ms) passes, after which the store's lease has ended on its own. The timers never
 * keep a process alive, and `cancelAll` stops them at shutdown.
 */
export class BackgroundRetries {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  /**
   * Runs `op` now (unless `afterFailure`: it just failed, so the first try waits a pause) and
   * again after each failure. Resolves when the first try has settled, whatever its outcome.
   */
  run(op: () => Promise<unknown>, until: number, afterFailure = false): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (afterFailure) {
      this.schedule(op, until, FIRST_PAUSE_MS);
      return Promise.resolve();
    }
    return this.attempt(op, until, FIRST_PAUSE_MS);
  }

  /** Stops every pending retry, and any later one: the store is closing. */
  cancelAll(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async attempt(op: () => Promise<unknown>, until: number, pause: number): Promise<void> {
    try {
      await op();
    } catch {
      this.schedule(op, until, pause);
    }
  }

  private schedule(op: () => Promise<unknown>, until: number, pause: number): void {
    if (this.closed || monotonicNow() + pause >= until) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(op, until, Math.min(pause * 2, LONGEST_PAUSE_MS));
    }, pause);
    timer.unref();
    this.timers.add(timer);
  }
}
