import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { LOCK_SERVICE_REF, WITH_LOCK_MARK } from './distributed-lock.constants';
import { LockService } from './lock.service';

/**
 * Binds this application's LockService to every provider and controller instance that has
 * `@WithLock` methods, so two applications in one process never share a lock store.
 * Instances Nest creates later (request-scoped, transient) fall back to the only running service.
 */
@Injectable()
export class LockBindingExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly lockService: LockService,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      const instance: unknown = wrapper.instance;
      if (typeof instance !== 'object' || instance === null) continue;
      if (!(WITH_LOCK_MARK in instance)) continue;
      Object.defineProperty(instance, LOCK_SERVICE_REF, {
        value: this.lockService,
        configurable: true,
        enumerable: false,
      });
    }
  }
}
