import { join } from 'node:path';
import autocannon from 'autocannon';
import { type AppProcess, appStats, startApp, stopApp } from '../app-process';
import { measureRedis, REDIS_COST_METHOD } from '../redis-cost';
import type { BenchContext, Row, Scenario, ScenarioReport } from '../scenario';
import { median, now, sleep } from '../stats';

const CONNECTIONS = 50;

/** The app processes: the same code, each serving one kind of traffic. */
type AppId = 'plain' | 'hand' | 'lib';

interface Endpoint {
  id: string;
  name: string;
  app: AppId;
  path: string;
}

const ENDPOINTS: Endpoint[] = [
  { id: 'plain', name: 'plain endpoint (no lock)', app: 'plain', path: '/plain/[<id>]' },
  {
    id: 'hand',
    name: 'by hand: SET NX PX + EVALSHA owner-checked delete (bare ioredis)',
    app: 'hand',
    path: '/hand/[<id>]',
  },
  {
    id: 'locked',
    name: "@WithLock('bench:<id>') endpoint (this library)",
    app: 'lib',
    path: '/locked/[<id>]',
  },
  {
    id: 'plainInLib',
    name: 'plain endpoint of the @WithLock app',
    app: 'lib',
    path: '/plain/[<id>]',
  },
];

type Figures = Record<string, number>;

async function load(ctx: BenchContext, app: AppProcess, path: string, seconds: number) {
  const appBefore = await appStats(app.process);
  const redis = await measureRedis([ctx.redis.admin]);
  const result = await autocannon({
    url: `http://127.0.0.1:${app.port}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    idReplacement: true,
  });
  // Requests still in the app when autocannon stopped finish before the figures are read.
  await sleep(200);
  const ok = result['2xx'];
  const cost = await redis.end(ok);
  const appAfter = await appStats(app.process);
  return {
    reqPerSec: ok / result.duration,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    appCpuUs: (appAfter.cpuUs - appBefore.cpuUs) / Math.max(1, ok),
    sentPerReq: (appAfter.sent - appBefore.sent) / Math.max(1, ok),
    ...cost,
    bad: result.errors + result.timeouts + result.non2xx,
  };
}

/** Median over rounds of `id`'s `key` divided by `baseId`'s of the same round. */
function pairedRatio(
  results: Map<string, Figures[]>,
  id: string,
  baseId: string,
  key = 'reqPerSec',
): number {
  const base = results.get(baseId) ?? [];
  return median(
    (results.get(id) ?? []).flatMap((r, round) =>
      base[round] && base[round][key] > 0 ? [r[key] / base[round][key]] : [],
    ),
  );
}

export const s5: Scenario = {
  id: 'S5',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const seconds = ctx.options.quick ? 2 : 4;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 1 : 4);
    const apps = new Map<AppId, AppProcess>();
    const results = new Map<string, Figures[]>();
    try {
      for (const id of ['plain', 'hand', 'lib'] as const) {
        apps.set(id, await startApp(join(__dirname, 's5-app.js'), [ctx.redis.url]));
      }
      const appOf = (endpoint: Endpoint): AppProcess => apps.get(endpoint.app) as AppProcess;
      // Warm-up; in the library's app it also turns on what the first @WithLock request turns
      // on for the whole process, before its plain runs.
      for (const endpoint of ENDPOINTS) await load(ctx, appOf(endpoint), endpoint.path, 1);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < ENDPOINTS.length; i++) {
          const endpoint = ENDPOINTS[(i + round) % ENDPOINTS.length];
          await ctx.redis.flush();
          const figures = await load(ctx, appOf(endpoint), endpoint.path, seconds);
          ctx.log(
            `S5 round ${round + 1} ${endpoint.id}: ${figures.reqPerSec.toFixed(0)} req/s, ` +
              `app ${figures.appCpuUs.toFixed(0)} µs/req, Redis ${figures.redisCpuUs.toFixed(1)} µs/req, ` +
              `${figures.bad} bad`,
          );
          results.set(endpoint.id, [...(results.get(endpoint.id) ?? []), figures]);
        }
      }
    } finally {
      await Promise.all([...apps.values()].map((app) => stopApp(app.process)));
    }
    const rows: Row[] = ENDPOINTS.map((endpoint) => {
      const runs = results.get(endpoint.id) ?? [];
      const med = (key: string): number => median(runs.map((r) => r[key]));
      return {
        contenderId: endpoint.id,
        name: endpoint.name,
        // Every endpoint runs once in each round: compared round by round.
        ratios: {
          reqPerSec: pairedRatio(results, endpoint.id, 'hand'),
          appCpuUs: pairedRatio(results, endpoint.id, 'hand', 'appCpuUs'),
          redisCpuUs: pairedRatio(results, endpoint.id, 'hand', 'redisCpuUs'),
          redisCmds: pairedRatio(results, endpoint.id, 'hand', 'redisCmds'),
        },
        values: {
          reqPerSec: med('reqPerSec'),
          vsPlain: pairedRatio(results, endpoint.id, 'plain'),
          p50ms: med('p50ms'),
          p99ms: med('p99ms'),
          appCpuUs: med('appCpuUs'),
          redisCpuUs: med('redisCpuUs'),
          redisCmds: med('redisCmds'),
          sentPerReq: med('sentPerReq'),
          bad: runs.reduce((sum, r) => sum + r.bad, 0),
        },
      };
    });
    return {
      id: 'S5',
      title: 'S5 — HTTP: Nest (Express) endpoint with @WithLock, by hand, and without a lock',
      method: `autocannon (programmatic, in the bench process), ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s per endpoint (medians over rounds); every request has its own id (autocannon idReplacement), so each locked request takes a lock of its own. The Nest app (DistributedLockModule.forRoot({ redis: url })) runs in three child processes of the same code, so that what one variant turns on for its whole process does not tax another: one serves the plain route, one the by-hand route, one the @WithLock route and, as the last row, its own plain route. By hand: SET lock:bench:<id> <token> NX PX 30000, the handler's body, then EVALSHA of the usual compare-and-delete script (GET, DEL if it is ours) on bare ioredis (409 if the SET fails). "× plain": req/s over the plain endpoint's in the same round (median). app CPU: the serving process's CPU time (process.cpuUsage) per 2xx response; sent: commands its ioredis clients sent per response (round trips). ${REDIS_COST_METHOD} (per 2xx response)`,
      columns: [
        { key: 'reqPerSec', label: 'req/s', digits: 0, ratio: true },
        { key: 'vsPlain', label: '× plain', digits: 2, ratio: false },
        { key: 'p50ms', label: 'p50 ms', digits: 1, ratio: false },
        { key: 'p99ms', label: 'p99 ms', digits: 1, ratio: false },
        { key: 'appCpuUs', label: 'app CPU µs/req', digits: 0, ratio: true },
        { key: 'redisCpuUs', label: 'Redis CPU µs/req', digits: 1, ratio: true },
        { key: 'redisCmds', label: 'Redis cmds/req', digits: 2, ratio: true },
        { key: 'sentPerReq', label: 'sent/req', digits: 2, ratio: false },
        { key: 'bad', label: 'errors + non-2xx', digits: 0, ratio: false },
      ],
      rows,
      baselineId: 'hand',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
