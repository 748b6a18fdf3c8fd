import { Injectable, INestApplicationContext, Module } from '@nestjs/common';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { DistributedLockModule, WithLock } from '../../lib';
import { useRedisServer } from '../support/use-redis-server';

const PERIOD = 300;
const PERIODS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts runs in Redis, so that every instance's runs are counted together. */
@Injectable()
class Runs {
  readonly redis = new Redis(process.env.SCHEDULED_JOB_REDIS as string);
}

@Injectable()
class Jobs {
  constructor(private readonly runs: Runs) {}

  // The lock is kept for (almost) the period, so an instance whose timer fires later in the
  // same period finds it taken.
  @Interval(PERIOD)
  @WithLock('job:held', { onLocked: 'skip', holdAtLeast: PERIOD - 50 })
  async held(): Promise<void> {
    await this.runs.redis.incr('runs:held');
  }

  // The control: a short job released at once runs again on the other instance.
  @Interval(PERIOD)
  @WithLock('job:released', { onLocked: 'skip' })
  async released(): Promise<void> {
    await this.runs.redis.incr('runs:released');
  }
}

describe('a scheduled job on instances out of phase (real redis-server)', () => {
  const fixture = useRedisServer({ flush: true });

  it('runs once per period with holdAtLeast, about twice without', async () => {
    process.env.SCHEDULED_JOB_REDIS = fixture.server.url;
    const apps: INestApplicationContext[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        @Module({
          imports: [
            ScheduleModule.forRoot(),
            DistributedLockModule.forRoot({ redis: fixture.server.url }),
          ],
          providers: [Runs, Jobs],
        })
        class AppModule {}
        const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
        apps.push(await moduleRef.init());
        // The second instance's timers fire half a period after the first one's.
        if (i === 0) await sleep(PERIOD / 2);
      }
      await sleep(PERIOD * PERIODS);
    } finally {
      for (const app of apps) {
        const runs = app.get(Runs);
        await app.close();
        runs.redis.disconnect();
      }
    }
    const held = Number(await fixture.redis.get('runs:held'));
    const released = Number(await fixture.redis.get('runs:released'));
    // Each instance fires about PERIODS + 1 times; held lets one of each pair run.
    expect(held).toBeGreaterThanOrEqual(PERIODS - 1);
    expect(held).toBeLessThanOrEqual(PERIODS + 2);
    expect(released).toBeGreaterThanOrEqual(2 * PERIODS - 2);
    // The lock was left to expire, not released: nothing else is held.
    expect(await fixture.redis.keys('lock:{job:released}')).toEqual([]);
  });
});
