import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { describeError } from '../lock-handle';
import { LockService } from '../lock.service';

/**
 * A `@nestjs/terminus` health indicator for the lock store: `up` with the topology and the
 * round trip of a `PING` (every master of a Cluster), `down` when the store does not answer
 * within the module's `commandTimeout`. Writes nothing. Register it as a provider where
 * `LockService` can be injected (the module that imports `DistributedLockModule`, or any module
 * when it `isGlobal`) and `TerminusModule` is imported.
 */
@Injectable()
export class LockHealthIndicator {
  /** Nest injects the application's `LockService` and terminus' `HealthIndicatorService`. */
  constructor(
    @Inject(LockService) private readonly locks: LockService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
  ) {}

  /**
   * Checks the store under `key` (default `'lock'`): `up` with `{ topology, roundTripMs,
   * heldLocks }`, where topology is `'memory'`, `'single'`, `'sentinel'` or `'cluster'`; `down`
   * with `{ reachable: false, message }`.
   */
  async isHealthy<const Key extends string = 'lock'>(
    key: Key = 'lock' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    try {
      const { topology, roundTripMs } = await this.locks.storeHealth();
      return indicator.up({
        reachable: true,
        topology,
        roundTripMs,
        heldLocks: this.locks.heldCount,
      });
    } catch (err) {
      return indicator.down({ reachable: false, message: describeError(err) });
    }
  }
}
