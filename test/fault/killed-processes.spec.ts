import { lockKeys, waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { FaultWorker, Fleet, MARGIN_MS, Reply, report, sleep } from './support/fault-harness';

const TTL = 2000;
const RECHECK = 500;
const HOLD_MS = 100;

describe('holders and queued waiters killed (SIGKILL)', () => {
  const fleet = Fleet.use();
  const fixture = useRedisServer();
  const service = { ttl: TTL, recheckInterval: RECHECK };

  /**
   * Queues `worker` for `key` and waits until it stands in line; the result resolves once it got
   * the lock, held it and started releasing it (`releasedAt`).
   */
  async function queue(
    worker: FaultWorker,
    key: string,
    mode = 'exclusive',
  ): Promise<() => Promise<Reply>> {
    const before = await fixture.redis.zcard(lockKeys(key).queue);
    const reply = worker.call('acquire', {
      lock: key,
      key,
      options: { waitTimeout: 30_000, mode },
    });
    await waitUntil(
      async () => (await fixture.redis.zcard(lockKeys(key).queue)) > before,
      `${worker.name} is queued`,
    );
    // Each live waiter holds the lock briefly, then releases it (timed by the worker).
    const done = reply.then(async (r) => {
      if (!r.ok) return r;
      await sleep(HOLD_MS);
      const release = await worker.call('release', { lock: key });
      return { ...r, releasedAt: release.startedAt };
    });
    // A waiter killed in line never answers: that is expected, not an unhandled rejection.
    done.catch(() => undefined);
    return () => done;
  }

  /** Checks that the live waiters were served in line order, each within `bound` of the previous hold's end. */
  function served(
    killedAt: number,
    live: { name: string; reply: Reply }[],
    rows: Record<string, unknown>[],
  ): void {
    let previousEnd = killedAt;
    let previousFence = 0;
    for (const [i, { name, reply }] of live.entries()) {
      const firstBound = i === 0 ? TTL + RECHECK : RECHECK;
      rows.push({
        waiter: name,
        outcome: reply.ok ? 'acquired' : reply.error?.name,
        'got it after kill': (reply.acquiredAt as number) - killedAt,
        'after previous hold': i === 0 ? '-' : (reply.acquiredAt as number) - previousEnd,
        bound: firstBound + MARGIN_MS,
      });
      expect(reply).toMatchObject({ ok: true });
      expect(reply.acquiredAt as number).toBeGreaterThanOrEqual(previousEnd);
      expect((reply.acquiredAt as number) - previousEnd).toBeLessThanOrEqual(
        firstBound + MARGIN_MS,
      );
      expect(reply.fencingToken as number).toBeGreaterThan(previousFence);
      previousEnd = reply.releasedAt as number;
      previousFence = reply.fencingToken as number;
    }
  }

  it('serves the live waiters in FIFO order within the lease + one re-check interval', async () => {
    const workers = await Promise.all(
      ['holder', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6'].map((name) =>
        fleet.spawn(name, { redis: fixture.server.url, service }),
      ),
    );
    const [holder, ...waiters] = workers;
    expect(await holder.call('acquire', { lock: 'job', key: 'job' })).toMatchObject({ ok: true });
    const results: (() => Promise<Reply>)[] = [];
    for (const waiter of waiters) results.push(await queue(waiter, 'job'));

    // The holder, the head of the line and every other waiter behind it die at once.
    const killed = [holder, waiters[0], waiters[2], waiters[4]];
    await sleep(700);
    const killedAt = Date.now();
    await Promise.all(killed.map((w) => w.kill()));
    const live = [1, 3, 5].map((i) => ({ name: waiters[i].name, result: results[i] }));
    const rows: Record<string, unknown>[] = [];
    const replies = [];
    for (const { name, result } of live) replies.push({ name, reply: await result() });
    served(killedAt, replies, rows);
    report(
      '4a. holder + head of line + every other waiter SIGKILLed',
      rows,
      `ttl ${TTL}, recheck ${RECHECK}, hold ${HOLD_MS}`,
    );
    expect(await fixture.redis.exists(lockKeys('job').lock)).toBe(0);
  });

  it('serves a queued writer, then a reader behind it, when every reader holding the lock is killed', async () => {
    const readers = await Promise.all(
      ['r1', 'r2', 'r3'].map((name) => fleet.spawn(name, { redis: fixture.server.url, service })),
    );
    const writer = await fleet.spawn('writer', { redis: fixture.server.url, service });
    const lateReader = await fleet.spawn('r4', { redis: fixture.server.url, service });
    for (const reader of readers) {
      expect(
        await reader.call('acquire', { lock: 'doc', key: 'doc', options: { mode: 'read' } }),
      ).toMatchObject({
        ok: true,
      });
    }
    const writerResult = await queue(writer, 'doc', 'write');
    const readerResult = await queue(lateReader, 'doc', 'read');
    await sleep(700);
    const killedAt = Date.now();
    await Promise.all(readers.map((r) => r.kill()));
    const rows: Record<string, unknown>[] = [];
    served(
      killedAt,
      [
        { name: 'writer', reply: await writerResult() },
        { name: 'r4 (reader behind it)', reply: await readerResult() },
      ],
      rows,
    );
    report(
      '4b. three read holders SIGKILLed, a writer and a reader queued',
      rows,
      `ttl ${TTL}, recheck ${RECHECK}`,
    );
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
