import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DistributedLockModule,
  DistributedLockModuleAsyncOptions,
  DistributedLockModuleOptions,
  DistributedLockOptionsFactory,
  LockNotAcquiredError,
  LockService,
} from '../../lib';

/** A lease no default gives: the lock's `validUntil` shows the options were applied. */
const TTL = 43_210;

/** A dependency of the options factory, to show that Nest injects into it. */
@Injectable()
class LockSettings {
  readonly ttl = TTL;
}

@Module({ providers: [LockSettings], exports: [LockSettings] })
class SettingsModule {}

@Injectable()
class LockOptionsFactory implements DistributedLockOptionsFactory {
  constructor(private readonly settings: LockSettings) {}

  createDistributedLockOptions(): DistributedLockModuleOptions {
    return { ttl: this.settings.ttl, autoExtend: false, waitTimeout: 20 };
  }
}

@Injectable()
class AsyncLockOptionsFactory implements DistributedLockOptionsFactory {
  async createDistributedLockOptions(): Promise<DistributedLockModuleOptions> {
    await new Promise((resolve) => setImmediate(resolve));
    return { ttl: TTL, autoExtend: false, waitTimeout: 20 };
  }
}

/** Starts a module with `options`, and checks that its `LockService` runs with their ttl and waitTimeout. */
async function expectOptionsApplied(options: DistributedLockModuleAsyncOptions): Promise<void> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedLockModule.forRootAsync(options)],
  }).compile();
  const app = await moduleRef.init();
  try {
    const locks = app.get(LockService);
    const lock = await locks.acquire('async-options');
    try {
      const lease = lock.validUntil - Date.now();
      expect(lease).toBeGreaterThan(TTL - 5_000);
      expect(lease).toBeLessThanOrEqual(TTL);
      // waitTimeout 20 ms, not the default 10 s.
      const busy = await locks.acquire('async-options').catch((err: unknown) => err);
      expect(busy).toBeInstanceOf(LockNotAcquiredError);
      expect((busy as LockNotAcquiredError).waitedMs).toBeLessThan(5_000);
    } finally {
      await lock.release();
    }
  } finally {
    await app.close();
  }
}

describe('DistributedLockModule.forRootAsync', () => {
  it('takes its options from a useClass factory, with its dependencies injected', async () => {
    await expectOptionsApplied({ imports: [SettingsModule], useClass: LockOptionsFactory });
  });

  it('awaits a factory method that returns a promise', async () => {
    await expectOptionsApplied({ useClass: AsyncLockOptionsFactory });
  });

  it('takes its options from an existing provider of an imported module (useExisting)', async () => {
    @Module({
      imports: [SettingsModule],
      providers: [LockOptionsFactory],
      exports: [LockOptionsFactory],
    })
    class LockConfigModule {}
    await expectOptionsApplied({ imports: [LockConfigModule], useExisting: LockOptionsFactory });
  });

  it('takes its options from useFactory with inject', async () => {
    await expectOptionsApplied({
      imports: [SettingsModule],
      inject: [LockSettings],
      useFactory: (settings: LockSettings) => ({
        ttl: settings.ttl,
        autoExtend: false,
        waitTimeout: 20,
      }),
    });
  });

  it('makes LockService injectable in every module with isGlobal', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly locks: LockService) {}
    }
    @Module({ providers: [Consumer], exports: [Consumer] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        DistributedLockModule.forRootAsync({ useClass: AsyncLockOptionsFactory, isGlobal: true }),
        FeatureModule,
      ],
    }).compile();
    const app = await moduleRef.init();
    try {
      expect(app.get(Consumer).locks).toBeInstanceOf(LockService);
    } finally {
      await app.close();
    }
  });
});

describe('DistributedLockModule.forRoot() with no argument', () => {
  it('type-checks and runs on the in-memory store', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot()],
    }).compile();
    const app = await moduleRef.init();
    try {
      const lock = await app.get(LockService).acquire('no-options');
      expect(lock.isHeld()).toBe(true);
      await lock.release();
    } finally {
      await app.close();
    }
  });
});
