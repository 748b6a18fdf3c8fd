import { Injectable, OnApplicationShutdown, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LockService } from '../lock.service';
import { LeaderElection } from './leader-election';
import type { LeaderElectionOptions } from './leader-election-options.interface';
import {
  assertLeadershipName,
  resolveLeaderElectionOptions,
  sameOptions,
} from './leader-election-options';
import { LEADER_MESSAGES } from './leader.messages';

/** Services of the running Nest applications, for `@LeaderOnly` on instances Nest did not bind. */
const liveServices = new Set<LeaderElectionService>();

/**
 * The leaderships of this application, one `LeaderElection` per name, on the module's
 * `LockService`. Every leadership is resigned when the application shuts down (before the lock
 * store closes), so a successor is elected at once.
 */
@Injectable()
export class LeaderElectionService implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly elections = new Map<string, LeaderElection>();
  private closed = false;

  /** Nest passes the module's `LockService`; without Nest, `new LeaderElectionService(locks)`, then `close()`. */
  constructor(private readonly locks: LockService) {}

  /**
   * The leadership `name`, made on first use with `options` (not campaigning yet: call
   * `start()`). Later calls return the same one; options given again must be the same.
   */
  election(name: string, options?: LeaderElectionOptions): LeaderElection {
    assertLeadershipName(name, 'LeaderElectionService.election');
    const existing = this.elections.get(name);
    if (existing) {
      if (
        options !== undefined &&
        !sameOptions(existing.options, resolveLeaderElectionOptions(options, 'LeaderElection'))
      ) {
        throw new TypeError(LEADER_MESSAGES.optionsDiffer(name));
      }
      return existing;
    }
    if (this.closed) throw new Error(LEADER_MESSAGES.closed(name));
    const election = new LeaderElection(this.locks, name, options);
    this.elections.set(name, election);
    return election;
  }

  /** Whether this instance leads `name` now (`false` for a leadership never made here). */
  isLeader(name: string): boolean {
    return this.elections.get(name)?.isLeader() ?? false;
  }

  /**
   * @internal For `@LeaderOnly`: the leadership `name`, campaigning from the moment it is made
   * here. One stopped on purpose stays stopped.
   */
  campaign(name: string): LeaderElection {
    const known = this.elections.has(name);
    const election = this.election(name);
    if (!known) election.start();
    return election;
  }

  /** Nest's init hook: `@LeaderOnly` on instances Nest did not create can find this service. */
  onModuleInit(): void {
    if (!this.closed) liveServices.add(this);
  }

  /** Resigns every leadership while the lock store is still open. */
  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** A backstop for shutdowns that skip `onModuleDestroy`. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** Stops and resigns every leadership; no new one can be made. */
  async close(): Promise<void> {
    this.closed = true;
    liveServices.delete(this);
    await Promise.all([...this.elections.values()].map((election) => election.close()));
  }

  /** @internal The only running service, when exactly one is running. */
  static soleLiveService(): LeaderElectionService | undefined {
    if (liveServices.size !== 1) return undefined;
    return liveServices.values().next().value;
  }

  /** @internal How many running applications have this service. */
  static liveServiceCount(): number {
    return liveServices.size;
  }
}
