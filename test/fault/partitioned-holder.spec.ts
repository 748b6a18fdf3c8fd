import { Redis } from 'ioredis';
import { lockKeys, WorkerMessage } from '../support/spawn-worker';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { startTcpProxy, TcpProxy } from '../support/tcp-proxy';
import { Fleet, MARGIN_MS, ownerToken, report, sleep, verify } from './support/fault-harness';

const TTL = 2000;
/** How long after taking the lock the link is cut: before the first renewal, and after two. */
const CUT_AFTER_MS = [100, 1500];

describe('a holder cut off by a TCP proxy that stops delivering bytes (sockets stay open)', () => {
  const fleet = Fleet.use();
  let server: RedisServer;
  let proxy: TcpProxy;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    proxy = await startTcpProxy(server.port);
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await proxy?.close();
    await server?.stop();
  });

  it('is told by its lease end, while still cut off, no later than the next holder could take it', async () => {
    const service = { ttl: TTL, recheckInterval: 200 };
    const cutOff = await fleet.spawn('cut', {
      redis: `redis://127.0.0.1:${proxy.port}`,
      service,
    });
    const next = await fleet.spawn('next', { redis: server.url, service });
    const rows: Record<string, unknown>[] = [];
    const checks: (() => void)[] = [];

    for (const [i, cutAfter] of CUT_AFTER_MS.entries()) {
      const key = `job:${i}`;
      const held = await cutOff.call('acquire', { lock: key, key });
      expect(held).toMatchObject({ ok: true });
      await sleep(cutAfter);
      const cutAt = Date.now();
      proxy.cut();
      const taken = next.call('acquire', { lock: key, key, options: { waitTimeout: TTL + 5000 } });

      // Whatever the library does, the cut holder's lease cannot be proven past cutAt + TTL.
      const lost: WorkerMessage | undefined = await cutOff
        .lost(key, TTL + 3000)
        .catch(() => undefined);
      const nextHeld = await taken;
      const stillCut = Date.now();
      proxy.heal();
      const release = await cutOff.call('release', { lock: key }, 10_000).catch(() => undefined);
      const owner = ownerToken(await redis.get(lockKeys(key).lock));

      const toldAt = lost?.at as number | undefined;
      const nextAt = nextHeld.acquiredAt as number | undefined;
      rows.push({
        'cut after': cutAfter,
        'told after cut': toldAt !== undefined ? toldAt - cutAt : 'never',
        'told - validUntil':
          toldAt !== undefined && lost?.validUntil
            ? Math.round(toldAt - (lost.validUntil as number))
            : undefined,
        'next got it after cut': nextAt !== undefined ? nextAt - cutAt : nextHeld.error?.name,
        'overlap (told - next got it)':
          toldAt !== undefined && nextAt !== undefined ? toldAt - nextAt : 'unbounded',
        'released by cut (after heal)': release?.released ?? release?.error?.name,
      });
      checks.push(() => {
        expect(lost).toBeDefined();
        expect(toldAt).toBeLessThanOrEqual(cutAt + TTL + MARGIN_MS);
        if (lost?.validUntil !== undefined) {
          expect(toldAt).toBeLessThanOrEqual((lost.validUntil as number) + MARGIN_MS);
        }
        expect(toldAt).toBeLessThan(stillCut);
        expect(nextHeld).toMatchObject({ ok: true });
        expect(toldAt).toBeLessThanOrEqual((nextAt as number) + MARGIN_MS);
        expect(nextHeld.fencingToken as number).toBeGreaterThan(held.fencingToken as number);
        // The healed link must not let the old holder free the new holder's lock.
        expect(owner).toBe(nextHeld.token);
      });
      if (nextHeld.ok) await next.call('release', { lock: key });
    }

    report('2. holder cut off by a TCP proxy', rows, `ttl ${TTL}, margin ${MARGIN_MS}`);
    for (const check of checks) check();
  });

  it('keeps its lock through a slow link (200 ms each way) and connection resets, and nobody else gets it', async () => {
    const service = { ttl: TTL, recheckInterval: 200 };
    const holder = await fleet.spawn('slow link', {
      redis: `redis://127.0.0.1:${proxy.port}`,
      service,
    });
    const prober = await fleet.spawn('prober', { redis: server.url, service });
    const held = await holder.call('acquire', { lock: 'slow', key: 'slow' });
    expect(held).toMatchObject({ ok: true });
    const probing = prober.call('probe', { key: 'slow', durationMs: 5000, intervalMs: 50 });
    proxy.delay(200);
    await sleep(2500);
    proxy.delay(0);
    const acceptedBefore = proxy.accepted;
    for (let i = 0; i < 3; i++) {
      proxy.dropConnections();
      await sleep(600);
    }
    await sleep(500);
    const probe = await probing;
    const lost = holder.lostSoFar('slow');
    const state = await holder.call('state', { lock: 'slow' });
    const extended = await holder.call('extend', { lock: 'slow' });
    const release = await holder.call('release', { lock: 'slow' });

    report('2b. holder on a slow link (200 ms each way, 2.5 s), then 3 connection resets', [
      {
        ttl: TTL,
        'signal aborted': lost
          ? `yes, ${(lost.at as number) - (held.acquiredAt as number)} after acquire`
          : 'no',
        reconnections: proxy.accepted - acceptedBefore,
        'others got it': (probe.acquired as number[]).length,
        'prober tries / errors': `${probe.attempts as number} / ${JSON.stringify(probe.errors)}`,
        'extend after': extended.ok ? extended.extended : extended.error?.name,
        release: release.ok ? release.released : release.error?.name,
      },
    ]);
    verify([
      () => expect(lost).toBeUndefined(),
      () => expect(state).toMatchObject({ aborted: false }),
      () => expect(probe.acquired).toEqual([]),
      () => expect(extended).toMatchObject({ ok: true, extended: true }),
      () => expect(release).toMatchObject({ ok: true, released: true }),
    ]);
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    proxy.heal();
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
