import { defer, finalize, map, Observable, ReplaySubject, switchMap, take, timer } from 'rxjs';

/**
 * A counter incremented by an Observable with an unprotected read-pause-write: two runs that
 * overlap lose an update, and `maxActive` records the overlap. Each run reads when subscribed,
 * then waits for `open()` (and a short timer), then writes.
 */
export class RacyCounter {
  value = 0;
  active = 0;
  maxActive = 0;
  private gate = new ReplaySubject<void>(1);

  increment(): Observable<number> {
    return defer(() => {
      const read = this.value;
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      return timer(20).pipe(
        switchMap(() => this.gate.pipe(take(1))),
        map(() => (this.value = read + 1)),
        finalize(() => this.active--),
      );
    });
  }

  /** Lets every run, running or to come, finish its work. */
  open(): void {
    this.gate.next();
  }

  reset(): void {
    this.value = 0;
    this.active = 0;
    this.maxActive = 0;
    this.gate = new ReplaySubject<void>(1);
  }
}
