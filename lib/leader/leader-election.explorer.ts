import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { LOGGER_CONTEXT } from '../distributed-lock.constants';
import { LeaderElectionService } from './leader-election.service';
import { leaderOnlyNames } from './leader-only.decorator';
import { LEADER_ELECTIONS_REF } from './leader.constants';
import { LEADER_MESSAGES } from './leader.messages';

/**
 * Binds this application's `LeaderElectionService` to every provider and controller with
 * `@LeaderOnly` methods (so two applications in one process never share a leadership), and
 * starts campaigning for their names once the application has started.
 */
@Injectable()
export class LeaderElectionExplorer implements OnModuleInit, OnApplicationBootstrap {
  private readonly names = new Set<string>();
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly elections: LeaderElectionService,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      const instance: unknown = wrapper.instance;
      const prototype: unknown = (wrapper.metatype as { prototype?: unknown } | null)?.prototype;
      const source = typeof instance === 'object' && instance !== null ? instance : prototype;
      if (typeof source !== 'object' || source === null) continue;
      const names = leaderOnlyNames(source);
      if (names.length === 0) continue;
      for (const name of names) this.names.add(name);
      if (!wrapper.isDependencyTreeStatic()) {
        // Request-scoped and transient instances are made later, unbound: they fall back to
        // the only running application's service.
        this.logger.warn(LEADER_MESSAGES.notSingleton(String(wrapper.name)));
        continue;
      }
      if (source !== instance) continue;
      Object.defineProperty(instance, LEADER_ELECTIONS_REF, {
        value: this.elections,
        configurable: true,
        enumerable: false,
      });
    }
  }

  /** Every instance campaigns from the start: a leader exists before the first job runs. */
  onApplicationBootstrap(): void {
    for (const name of this.names) this.elections.campaign(name);
  }
}
