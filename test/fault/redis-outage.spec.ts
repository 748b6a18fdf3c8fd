import { Redis } from 'ioredis';
import { lockKeys, WorkerMessage } from '../support/spawn-worker';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { Fleet, MARGIN_MS, Reply, report, sleep } from './support/fault-harness';

const TTL = 1500;
const STALL_MS = 4000;

async function serverPid(redis: Redis): Promise<number> {
  const info = await redis.info('server');
  return Number(/process_id:(\d+)/.exec(info)![1]);
}

const outcome = (reply: Reply): string => (reply.ok ? 'acquired' : (reply.error?.name ?? '?'));

describe('Redis stalled (SIGSTOP) past the lease, then killed (SIGKILL) and restarted empty', () => {
  const fleet = Fleet.use();
  let server: RedisServer;
  let redis: Redis;
  /** Every fencing token handed out before the restart, per key. */
  const before = new Map<string, number>();

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
    redis.on('error', () => undefined);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const remember = (key: string, reply: Reply): void => {
    if (reply.ok) before.set(key, Math.max(before.get(key) ?? 0, reply.fencingToken as number));
  };

  it('stalled: holders are told by their lease end, calls honour waitTimeout and signals, service recovers', async () => {
    const service = { ttl: TTL, recheckInterval: 200 };
    const holder = await fleet.spawn('holder', { redis: server.url, service });
    const caller = await fleet.spawn('caller', { redis: server.url, service });
    const held = await holder.call('acquire', { lock: 'job', key: 'job' });
    expect(held).toMatchObject({ ok: true });
    remember('job', held);
    await sleep(300);

    const pid = await serverPid(redis);
    const stalledAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    let resumedAt = 0;
    try {
      const calls = {
        'free key, waitTimeout 1000': { key: 'free', options: { waitTimeout: 1000 }, bound: 1000 },
        'held key, waitTimeout 1000': { key: 'job', options: { waitTimeout: 1000 }, bound: 1000 },
        'free key, signal aborts at 500': {
          key: 'free2',
          options: { waitTimeout: 30_000 },
          abortAfter: 500,
          bound: 500,
        },
        'held key, signal aborts at 500': {
          key: 'job',
          options: { waitTimeout: 30_000 },
          abortAfter: 500,
          bound: 500,
        },
        'free key, waitTimeout 0 (figure only)': { key: 'free3', options: { waitTimeout: 0 } },
      };
      const replies = Object.entries(calls).map(([name, call]) => ({
        name,
        call,
        sentAt: Date.now(),
        reply: caller.call('acquire', { lock: name, ...call }),
      }));
      const lost: WorkerMessage | undefined = await holder
        .lost('job', TTL + 2000)
        .catch(() => undefined);
      await sleep(stalledAt + STALL_MS - Date.now());
      resumedAt = Date.now();
      process.kill(pid, 'SIGCONT');

      const rows: Record<string, unknown>[] = [
        {
          what: 'holder told (after stall began)',
          took: lost ? (lost.at as number) - stalledAt : 'never while stalled',
          bound: TTL + MARGIN_MS,
        },
      ];
      const checks: (() => void)[] = [
        () => expect(lost?.at as number).toBeLessThanOrEqual(stalledAt + TTL + MARGIN_MS),
      ];
      for (const { name, call, sentAt, reply } of replies) {
        const r = await reply;
        const doneAt = r.ok ? (r.acquiredAt as number) : (r.at as number);
        rows.push({
          what: name,
          took: doneAt - sentAt,
          bound: 'bound' in call ? call.bound + MARGIN_MS : undefined,
          outcome: outcome(r),
          'before Redis resumed': doneAt < resumedAt,
        });
        if ('bound' in call) {
          checks.push(() => {
            expect(r.ok).toBe(false);
            expect(doneAt - sentAt).toBeLessThanOrEqual(call.bound + MARGIN_MS);
            if ('abortAfter' in call) expect(r.error?.name).toBe('AbortError');
          });
        }
      }

      // A call that wrongly got its lock after giving up holds it: free it, so what follows
      // measures recovery and not that failure again.
      for (const { name, reply } of replies) {
        if ((await reply).ok) await caller.call('release', { lock: name });
      }
      // Calls given up during the stall must not leave a lock behind once Redis runs them.
      const ghosts = [];
      for (const key of ['free', 'free2', 'free3', 'job']) {
        const pttl = await redis.pttl(lockKeys(key).lock);
        if (pttl > 0) ghosts.push(`${key} (${pttl} ms left)`);
      }

      // Once Redis is back, the same services work again, with no restart.
      const again = await caller.call('acquire', {
        lock: 'again',
        key: 'after-stall',
        options: { waitTimeout: 5000 },
      });
      const retaken = await holder.call('acquire', {
        lock: 'job-again',
        key: 'job',
        options: { waitTimeout: TTL + 5000 },
      });
      remember('job', retaken);
      rows.push({
        what: 'new acquire after resume',
        took: (again.acquiredAt as number) - resumedAt,
        outcome: outcome(again),
      });
      rows.push({
        what: 'holder takes job again',
        took: (retaken.acquiredAt as number) - resumedAt,
        outcome: outcome(retaken),
      });
      rows.push({
        what: 'locks left after resume by calls that gave up (figure only)',
        outcome: ghosts.join(', ') || 'none',
      });
      report('3a. Redis stalled (SIGSTOP) past the lease', rows, `ttl ${TTL}, stall ${STALL_MS}`);

      for (const check of checks) check();
      expect(again).toMatchObject({ ok: true });
      expect(retaken).toMatchObject({ ok: true });
      expect(retaken.fencingToken as number).toBeGreaterThan(held.fencingToken as number);
      await caller.call('release', { lock: 'again' });
      await holder.call('release', { lock: 'job-again' });
    } finally {
      if (!resumedAt) process.kill(pid, 'SIGCONT');
    }
  });

  it('killed and restarted empty: holders are told, fencing tokens stay above every earlier one, service recovers', async () => {
    const service = { ttl: TTL, recheckInterval: 200 };
    const holder = await fleet.spawn('holder2', { redis: server.url, service });
    const caller = await fleet.spawn('caller2', { redis: server.url, service });
    const held = await holder.call('acquire', { lock: 'job2', key: 'job2' });
    expect(held).toMatchObject({ ok: true });
    remember('job2', held);
    await sleep(300);

    const killedAt = Date.now();
    await server.stop(true);
    await server.restart();
    const restartedAt = Date.now();
    const lost: WorkerMessage | undefined = await holder
      .lost('job2', TTL + 2000)
      .catch(() => undefined);

    const rows: Record<string, unknown>[] = [
      { what: 'restart took', took: restartedAt - killedAt },
      {
        what: 'holder told (after kill)',
        took: lost ? (lost.at as number) - killedAt : 'never',
        bound: TTL + MARGIN_MS,
      },
    ];
    const after = new Map<string, Reply>();
    for (const key of ['job', 'job2']) {
      const reply = await caller.call('acquire', {
        lock: `after:${key}`,
        key,
        options: { waitTimeout: 5000 },
      });
      after.set(key, reply);
      rows.push({
        what: `acquire ${key} after restart`,
        took: reply.ok ? (reply.acquiredAt as number) - restartedAt : undefined,
        outcome: outcome(reply),
        'fence above every earlier one':
          reply.ok && (reply.fencingToken as number) > before.get(key)!,
      });
    }
    const holderAgain = await holder.call('acquire', {
      lock: 'job3',
      key: 'job3',
      options: { waitTimeout: 5000 },
    });
    rows.push({ what: 'killed holder takes a new lock', outcome: outcome(holderAgain) });
    report('3b. Redis killed (SIGKILL) and restarted empty', rows, `ttl ${TTL}`);

    expect(lost).toBeDefined();
    expect(lost!.at as number).toBeLessThanOrEqual(killedAt + TTL + MARGIN_MS);
    for (const [key, reply] of after) {
      expect(reply).toMatchObject({ ok: true });
      expect(reply.fencingToken as number).toBeGreaterThan(before.get(key)!);
      await caller.call('release', { lock: `after:${key}` });
    }
    expect(holderAgain).toMatchObject({ ok: true });
    await holder.call('release', { lock: 'job3' });
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
