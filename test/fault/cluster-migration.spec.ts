import { Redis } from 'ioredis';
import { lockKeys } from '../support/spawn-worker';
import { RedisCluster, startRedisCluster } from '../support/redis-cluster';
import { Fleet, MARGIN_MS, Reply, report, sleep, verify } from './support/fault-harness';

const TTL = 4000;
const RECHECK = 300;
const KEY = 'job';

const CASES = [
  { name: 'fast: every key in one MIGRATE', oneByOne: false, pauseMs: 0 },
  { name: 'slow: one key per MIGRATE, 300 ms apart', oneByOne: true, pauseMs: 300 },
];

interface Node {
  port: number;
  id: string;
  admin: Redis;
}

describe('Redis Cluster: the slot of a held lock migrates to another master', () => {
  const fleet = Fleet.use();
  let cluster: RedisCluster;
  let nodes: Node[];
  let slot: number;
  const rows: Record<string, unknown>[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    nodes = await Promise.all(
      cluster.ports.map(async (port) => {
        const admin = new Redis({ port, host: '127.0.0.1' });
        admin.on('error', () => undefined);
        return { port, admin, id: String(await admin.call('CLUSTER', 'MYID')) };
      }),
    );
    slot = Number(await nodes[0].admin.call('CLUSTER', 'KEYSLOT', lockKeys(KEY).lock));
  });

  afterAll(async () => {
    for (const node of nodes ?? []) node.admin.disconnect();
    await cluster?.stop();
  });

  async function owner(): Promise<Node> {
    const ranges = (await nodes[0].admin.call('CLUSTER', 'SLOTS')) as [
      number,
      number,
      [string, number, string],
    ][];
    const range = ranges.find(([start, end]) => start <= slot && slot <= end)!;
    return nodes.find((n) => n.port === Number(range[2][1]))!;
  }

  /** Moves `slot` from `from` to `to` the way `redis-cli --cluster reshard` does; resolves the keys moved. */
  async function migrate(
    from: Node,
    to: Node,
    oneByOne: boolean,
    pauseMs: number,
  ): Promise<number> {
    await to.admin.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
    await from.admin.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
    let moved = 0;
    for (;;) {
      const keys = (await from.admin.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      const batch = oneByOne ? keys.slice(0, 1) : keys;
      await from.admin.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...batch);
      moved += batch.length;
      if (pauseMs > 0) await sleep(pauseMs);
    }
    for (const node of [to, from, ...nodes.filter((n) => n !== to && n !== from)]) {
      await node.admin.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
    }
    return moved;
  }

  it.each(CASES)(
    'keeps the lock with its holder, fails no waiter, lets nobody else in: $name',
    async ({ name, oneByOne, pauseMs }) => {
      const config = {
        cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
        service: { ttl: TTL, recheckInterval: RECHECK },
      };
      const [holder, waiter, prober] = await Promise.all(
        ['holder', 'waiter', 'prober'].map((role) => fleet.spawn(`${role} (${name})`, config)),
      );
      const held = await holder.call('acquire', { lock: KEY, key: KEY });
      expect(held).toMatchObject({ ok: true });
      const waiting = waiter.call(
        'acquire',
        { lock: KEY, key: KEY, options: { waitTimeout: 60_000 } },
        90_000,
      );
      await sleep(500);

      const from = await owner();
      const to = nodes.find((n) => n !== from)!;
      const probing = prober.call(
        'probe',
        { key: KEY, durationMs: 2000 + (oneByOne ? 3000 : 0) + TTL, intervalMs: 50 },
        60_000,
      );
      const startedAt = Date.now();
      const moved = await migrate(from, to, oneByOne, pauseMs);
      const migratedIn = Date.now() - startedAt;
      const newOwner = await owner();
      // Renewals go on against the new owner for a whole lease.
      await sleep(TTL);
      const lostDuringHold = holder.lostSoFar(KEY);
      const state = await holder.call('state', { lock: KEY });
      const extended = await holder.call('extend', { lock: KEY });
      const probe = await probing;
      const release = await holder.call('release', { lock: KEY });
      const got: Reply = await waiting;
      if (got.ok) await waiter.call('release', { lock: KEY });

      const releasedAt = release.startedAt as number;
      const othersIn = (probe.acquired as number[]).filter((at) => at < releasedAt);
      rows.push({
        case: name,
        'keys moved': moved,
        'migration took': migratedIn,
        'slot moved': `${from.port} -> ${newOwner.port}`,
        'holder signal aborted': lostDuringHold
          ? `yes, ${(lostDuringHold.at as number) - startedAt} after start`
          : 'no',
        'extend after': extended.ok ? extended.extended : extended.error?.name,
        release: release.ok ? release.released : release.error?.name,
        waiter: got.ok
          ? `served ${(got.acquiredAt as number) - releasedAt} after release`
          : `${got.error?.name}: ${got.error?.message}`,
        'others got it': othersIn.length,
        'prober tries / errors': `${probe.attempts as number} / ${JSON.stringify(probe.errors)}`,
      });

      verify([
        () => expect(newOwner.port).toBe(to.port),
        () => expect(lostDuringHold).toBeUndefined(),
        () => expect(state).toMatchObject({ aborted: false }),
        () => expect(extended).toMatchObject({ ok: true, extended: true }),
        () => expect(release).toMatchObject({ ok: true, released: true }),
        () => expect(got).toMatchObject({ ok: true }),
        () => expect(got.acquiredAt as number).toBeGreaterThanOrEqual(releasedAt),
        () => expect(othersIn).toEqual([]),
        () => expect(got.fencingToken as number).toBeGreaterThan(held.fencingToken as number),
      ]);
    },
  );

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    report(
      '6b. Cluster slot migration while a lock is held',
      rows,
      `ttl ${TTL}, recheck ${RECHECK}, margin ${MARGIN_MS}`,
    );
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
