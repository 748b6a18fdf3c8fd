import { lockKeys } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { Fleet, MARGIN_MS, ownerToken, report, sleep } from './support/fault-harness';

const TTL = 1000;
const PAUSE_MS = 2500;

describe('a holder paused (SIGSTOP) past its lease', () => {
  const fleet = Fleet.use();
  const fixture = useRedisServer();

  it('lets another process in, tells the paused one when it resumes, and fencing rejects its late write', async () => {
    const config = {
      redis: fixture.server.url,
      storeUrl: fixture.server.url,
      service: { ttl: TTL, recheckInterval: 200 },
    };
    const a = await fleet.spawn('A', config);
    const b = await fleet.spawn('B', config);

    const heldA = await a.call('acquire', { lock: 'a', key: 'job' });
    expect(heldA).toMatchObject({ ok: true });
    expect((await a.call('fencedWrite', { lock: 'a', value: 'A:before' })).accepted).toBe(true);
    // A's critical section goes on: it writes again 300 ms later, without looking at its signal.
    const lateWriteA = a.call('fencedWrite', { lock: 'a', value: 'A:after-pause', delayMs: 300 });
    await sleep(100);
    const pausedAt = Date.now();
    a.pause();

    const heldB = await b.call('acquire', {
      lock: 'b',
      key: 'job',
      options: { waitTimeout: 5000 },
    });
    expect(heldB).toMatchObject({ ok: true });
    const writeB = await b.call('fencedWrite', { lock: 'b', value: 'B' });
    await sleep(pausedAt + PAUSE_MS - Date.now());
    const resumedAt = Date.now();
    a.resume();

    const lostA = await a.lost('a', 5000);
    const lateA = await lateWriteA;
    const releaseA = await a.call('release', { lock: 'a' });
    const ownerNow = ownerToken(await fixture.redis.get(lockKeys('job').lock));
    const writes = await fixture.redis.lrange('store:writes', 0, -1);

    report('1. holder paused (SIGSTOP) past its lease', [
      {
        ttl: TTL,
        pause: PAUSE_MS,
        'B got it after pause': (heldB.acquiredAt as number) - pausedAt,
        'A told after resume': (lostA.at as number) - resumedAt,
        'A lost reason': lostA.reason && (lostA.reason as { name: string }).name,
        'fence A < B': `${heldA.fencingToken as number} < ${heldB.fencingToken as number}`,
        'B write': writeB.accepted ? 'accepted' : 'rejected',
        'A late write': lateA.accepted ? 'accepted' : 'rejected',
        'A release()': releaseA.released,
      },
    ]);

    expect(heldB.acquiredAt as number).toBeLessThan(resumedAt);
    expect(lostA.at as number).toBeLessThanOrEqual(resumedAt + MARGIN_MS);
    expect((lostA.reason as { name: string }).name).toBe('LockLostError');
    expect(heldA.fencingToken as number).toBeLessThan(heldB.fencingToken as number);
    expect(writeB.accepted).toBe(true);
    expect(lateA.accepted).toBe(false);
    expect(writes).toEqual(['A:before', 'B']);
    // The stale holder's release must not free the lock B now holds.
    expect(releaseA.released).toBe(false);
    expect(ownerNow).toBe(heldB.token);
    expect((await b.call('release', { lock: 'b' })).released).toBe(true);
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
