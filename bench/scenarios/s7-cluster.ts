import { availableParallelism } from 'node:os';
import { Cluster } from 'ioredis';
import { type BenchCluster, startBenchCluster } from '../cluster';
import type { Contender } from '../contenders/contender';
import { floor } from '../contenders/floor';
import { thisLibrary } from '../contenders/this-library';
import { bounded, RedisGoneError } from '../interleave';
import { REDIS_COST_COLUMNS, REDIS_COST_METHOD } from '../redis-cost';
import type { BenchContext, Row, Scenario, ScenarioReport } from '../scenario';
import { median, now } from '../stats';
import { CALLERS, concurrentCycles, KEYS } from './s2-concurrent';

type Figures = Record<string, number>;

interface Variant {
  contender: Contender;
  cluster: BenchCluster;
  /** Which contender: rows of the same kind are compared across clusters. */
  kind: 'lib' | 'floor';
}

async function connectTo(cluster: BenchCluster): Promise<Cluster> {
  const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  return client;
}

function variants(clusters: BenchCluster[]): Variant[] {
  return clusters.flatMap((cluster) => {
    const connect = (): Promise<Cluster> => connectTo(cluster);
    const where = `${cluster.masters} master${cluster.masters > 1 ? 's' : ''}`;
    return [
      {
        kind: 'lib' as const,
        cluster,
        contender: thisLibrary(true, connect, `lib@${cluster.masters}`, `this library, ${where}`),
      },
      {
        kind: 'floor' as const,
        cluster,
        contender: floor(connect, `floor@${cluster.masters}`, `floor (bare ioredis), ${where}`),
      },
    ];
  });
}

/** Median over rounds of `id`'s `key` divided by `baseId`'s of the same round. */
function paired(results: Map<string, Figures[]>, id: string, baseId: string, key: string): number {
  const base = results.get(baseId) ?? [];
  return median(
    (results.get(id) ?? []).flatMap((r, round) =>
      base[round]?.[key] ? [r[key] / base[round][key]] : [],
    ),
  );
}

export const s7: Scenario = {
  id: 'S7',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const durationMs = ctx.options.quick ? 150 : 200;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 3 : 15);
    const clusters: BenchCluster[] = [];
    const results = new Map<string, Figures[]>();
    const failed = new Map<string, string>();
    let all: Variant[] = [];
    try {
      clusters.push(await startBenchCluster(3), await startBenchCluster(1));
      ctx.log(`S7 clusters up: ${clusters.map((c) => c.ports.join(',')).join(' and ')}`);
      all = variants(clusters);
      for (const v of all) {
        try {
          ctx.log(`S7 ${v.contender.name}: setting up`);
          await v.contender.setup('');
          await concurrentCycles(v.cluster.admins, v.contender, `${v.contender.id}:warm`, 300);
        } catch (err) {
          failed.set(v.contender.id, err instanceof Error ? err.message : String(err));
        }
      }
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < all.length; i++) {
          const v = all[(i + round) % all.length];
          if (failed.has(v.contender.id)) continue;
          try {
            const figures = await bounded(
              ctx,
              concurrentCycles(
                v.cluster.admins,
                v.contender,
                `${v.contender.id}:${round}`,
                durationMs,
              ),
              durationMs + 30_000,
              `S7 ${v.contender.name}`,
            );
            ctx.log(
              `S7 round ${round + 1} ${v.contender.name}: ${figures.cyclesPerSec.toFixed(0)} cycles/s, Redis ${figures.redisCpuUs.toFixed(1)} µs/acq`,
            );
            const list = results.get(v.contender.id) ?? [];
            list[round] = figures;
            results.set(v.contender.id, list);
          } catch (err) {
            if (err instanceof RedisGoneError) throw err;
            failed.set(v.contender.id, err instanceof Error ? err.message : String(err));
          }
        }
      }
    } finally {
      await Promise.allSettled(all.map((v) => v.contender.close()));
      await Promise.allSettled(clusters.map((c) => c.stop()));
    }
    const rows = all.map((v): Row => {
      const id = v.contender.id;
      const runs = (results.get(id) ?? []).filter((r) => r !== undefined);
      const reason = failed.get(id);
      if (reason !== undefined || runs.length === 0) {
        const unavailable = `failed: ${reason ?? 'no result'}`;
        return { contenderId: id, name: v.contender.name, values: {}, unavailable };
      }
      const med = (key: string): number => median(runs.map((r) => r[key]));
      return {
        contenderId: id,
        name: v.contender.name,
        values: {
          cyclesPerSec: med('cyclesPerSec'),
          vsOneMaster: paired(results, id, `${v.kind}@1`, 'cyclesPerSec'),
          vsFloor: paired(results, id, `floor@${v.cluster.masters}`, 'cyclesPerSec'),
          busyPct: med('busyPct'),
          redisCpuUs: med('redisCpuUs'),
          redisCmds: med('redisCmds'),
          cpuVsFloor: paired(results, id, `floor@${v.cluster.masters}`, 'redisCpuUs'),
        },
      };
    });
    return {
      id: 'S7',
      title: `S7 — S2 on a local Redis Cluster: 3 masters against 1`,
      method: `S2 (${CALLERS} callers in one process, each cycle on a random one of ${KEYS.toLocaleString('en-US')} keys, trying without waiting) through an ioredis Cluster client passed as the \`redis\` option (the floor: the same client, its script loaded on every master), against a local cluster of 3 masters (redis-cli --cluster create, no replicas) and against a cluster-enabled single master owning all 16,384 slots; persistence off, all on 127.0.0.1. ${rounds} rounds of ${durationMs} ms per row, the 4 rows interleaved, medians over rounds. × 1 master: cycles/s over the same contender's on one master in the same round (median over rounds); × floor: over the floor's on the same cluster. ${REDIS_COST_METHOD} Redis CPU is added up over every master. This machine has ${availableParallelism()} CPUs shared by the load generator and every master, so the scaling measured here is bounded by CPU, not by Redis.`,
      columns: [
        { key: 'cyclesPerSec', label: 'cycles/s', digits: 0, ratio: false },
        { key: 'vsOneMaster', label: '× 1 master', digits: 2, ratio: false },
        { key: 'vsFloor', label: '× floor', digits: 2, ratio: false },
        { key: 'busyPct', label: 'busy %', digits: 2, ratio: false },
        ...REDIS_COST_COLUMNS.map((c) => ({ ...c, ratio: false })),
        { key: 'cpuVsFloor', label: 'Redis CPU × floor', digits: 2, ratio: false },
      ],
      rows,
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
