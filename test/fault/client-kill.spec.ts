import { lockKeys, waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { Fleet, MARGIN_MS, Reply, report, sleep } from './support/fault-harness';

const TTL = 10_000;
const RECHECK = 500;
/** "About one re-check": a waiter is served this soon after the release, far less than the TTL. */
const SERVED_WITHIN = 2 * RECHECK + MARGIN_MS;

type Variant = { name: string; types: string[]; killFirst: boolean };

const VARIANTS: Variant[] = [
  { name: 'TYPE normal, then release', types: ['normal'], killFirst: true },
  { name: 'release, then TYPE normal', types: ['normal'], killFirst: false },
  { name: 'TYPE pubsub, then release', types: ['pubsub'], killFirst: true },
  { name: 'release, then TYPE pubsub', types: ['pubsub'], killFirst: false },
  { name: 'TYPE normal + pubsub, then release', types: ['normal', 'pubsub'], killFirst: true },
];
const ROUNDS = 2;

describe('CLIENT KILL around a release', () => {
  const fleet = Fleet.use();
  const fixture = useRedisServer();

  it('strands no lock until its lease end and fails no waiter', async () => {
    const service = { ttl: TTL, recheckInterval: RECHECK };
    const holder = await fleet.spawn('holder', { redis: fixture.server.url, service });
    const waiter = await fleet.spawn('waiter', { redis: fixture.server.url, service });
    const rows: Record<string, unknown>[] = [];
    const checks: (() => void)[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of VARIANTS) {
        const key = `job:${round}:${rows.length}`;
        // Both workers are connected again after the last round's kill (this one's starts now).
        const warmUp = await waiter.call('acquire', {
          lock: 'warm-up',
          key: `warm-up:${key}`,
          retryUnavailable: true,
        });
        await waiter.call('release', { lock: 'warm-up' });
        const held = await holder.call('acquire', {
          lock: key,
          key,
          options: { waitTimeout: 5000 },
          retryUnavailable: true,
        });
        expect(held).toMatchObject({ ok: true });
        const waiting = waiter.call('acquire', {
          lock: key,
          key,
          options: { waitTimeout: 20_000 },
        });
        // A waiter that fails right away (its connection still down from the last round) is a
        // failure of its own, recorded below.
        let settled = false;
        void waiting.then(() => (settled = true));
        await waitUntil(
          async () => settled || (await fixture.redis.zcard(lockKeys(key).queue)) > 0,
          'the waiter is queued',
        );
        // The waiter's wake-up subscription is active (the store subscribes before queueing).
        await waitUntil(
          async () =>
            settled ||
            String(await fixture.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim() !== '',
          'the waiter subscribed',
        ).catch(() => undefined);
        await sleep(50);

        const kill = () =>
          Promise.all(
            variant.types.map(async (type) =>
              Number(await fixture.redis.call('CLIENT', 'KILL', 'TYPE', type)),
            ),
          );
        let killed: number[] = [];
        if (variant.killFirst) killed = await kill();
        const releasedAt = Date.now();
        const release = holder.call('release', { lock: key }, TTL + 5000);
        if (!variant.killFirst) killed = await kill();

        const got: Reply = await waiting;
        const released = await release;
        const servedIn = got.ok ? (got.acquiredAt as number) - releasedAt : undefined;
        rows.push({
          'CLIENT KILL': variant.name,
          'clients killed': killed.join('+'),
          'waiter 503s before the round': (warmUp.unavailable as number[]).length,
          'waiter served after release': servedIn ?? `${got.error?.name}: ${got.error?.message}`,
          'holder release()': released.ok ? released.released : released.error?.name,
        });
        checks.push(() => {
          expect(got).toMatchObject({ ok: true });
          expect(servedIn).toBeLessThanOrEqual(SERVED_WITHIN);
        });
        if (got.ok) await waiter.call('release', { lock: key });
      }
    }

    report(
      '5. CLIENT KILL around a release',
      rows,
      `ttl ${TTL}, recheck ${RECHECK}, bound ${SERVED_WITHIN}`,
    );
    for (const check of checks) check();
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
