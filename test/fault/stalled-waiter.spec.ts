import { lockKeys } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { Fleet, report, sleep } from './support/fault-harness';

const RECHECK = 200;

describe('a hand-over to a waiter whose process stalls (SIGSTOP) past the hand-over lease', () => {
  const fleet = Fleet.use();
  const fixture = useRedisServer();

  it('the stalled waiter does not take a lock another caller took meanwhile; it waits its turn', async () => {
    const config = { redis: fixture.server.url, service: { ttl: 5000, recheckInterval: RECHECK } };
    const holder = await fleet.spawn('holder', config);
    const stalled = await fleet.spawn('stalled', config);
    const other = await fleet.spawn('other', config);

    expect(await holder.call('acquire', { lock: 'h', key: 'job' })).toMatchObject({ ok: true });
    let stalledAnswered = false;
    const stalledWait = stalled
      .call('acquire', { lock: 's', key: 'job', options: { waitTimeout: 20_000 } })
      .finally(() => (stalledAnswered = true));
    const keys = lockKeys('job');
    for (let i = 0; (await fixture.redis.zcard(keys.queue)) === 0; i++) {
      if (i > 200) throw new Error('the waiter never queued');
      await sleep(10);
    }
    stalled.pause();
    const stalledAt = Date.now();
    // Handed to the stalled waiter for no longer than it was last known alive (3 re-checks).
    expect(await holder.call('release', { lock: 'h' })).toMatchObject({ released: true });
    await sleep(3 * RECHECK + 600);
    const taken = await other.call('acquire', {
      lock: 'o',
      key: 'job',
      options: { waitTimeout: 3000 },
    });
    expect(taken).toMatchObject({ ok: true });
    stalled.resume();
    const resumedAt = Date.now();
    // While `other` holds the lock, the resumed waiter must still be waiting.
    await sleep(800);
    expect(stalledAnswered).toBe(false);
    expect(await fixture.redis.exists(keys.lock)).toBe(1);
    const released = await other.call('release', { lock: 'o' });
    expect(released).toMatchObject({ released: true });
    const got = await stalledWait;

    report('9. hand-over to a stalled waiter', [
      {
        'waiter lease': 3 * RECHECK,
        stalled: resumedAt - stalledAt,
        'other got it after stall': (taken.acquiredAt as number) - stalledAt,
        'stalled got it after other released':
          (got.acquiredAt as number) - (released.startedAt as number),
      },
    ]);
    expect(got).toMatchObject({ ok: true });
    // Compared with when the release started: its reply may reach `other` after the hand-over.
    expect(got.acquiredAt as number).toBeGreaterThanOrEqual(released.startedAt as number);
    expect(got.fencingToken as number).toBeGreaterThan(taken.fencingToken as number);
    expect((await stalled.call('release', { lock: 's' })).released).toBe(true);
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
