import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchContext, Row, Scenario, ScenarioReport } from '../scenario';
import { median, now, sleep } from '../stats';

const CONNECTIONS = 50;
const BODY = JSON.stringify({ sku: 'SKU-123', qty: 2 });

/** The Nest app processes: the same code, each serving one kind of traffic. */
type AppId = 'plain' | 'hand' | 'lib';

interface Endpoint {
  id: string;
  name: string;
  app: AppId;
  path: string;
}

const ENDPOINTS: Endpoint[] = [
  { id: 'plain', name: 'plain endpoint (no idempotency)', app: 'plain', path: '/orders/plain' },
  {
    id: 'hand',
    name: 'hand-written: SET NX PX claim + SET PX response (bare ioredis)',
    app: 'hand',
    path: '/orders/by-hand',
  },
  {
    id: 'idempotent',
    name: '@Idempotent() (this library)',
    app: 'lib',
    path: '/orders/idempotent',
  },
  {
    id: 'plainInLib',
    name: 'plain endpoint of the @Idempotent() app',
    app: 'lib',
    path: '/orders/plain',
  },
];

interface App {
  process: ChildProcess;
  port: number;
}

type Figures = Record<string, number>;

/** Redis's own CPU time (user + system, all threads) so far, in µs. */
async function redisCpuMicros(ctx: BenchContext): Promise<number> {
  const info = await ctx.redis.admin.info('cpu');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
    if (!match) throw new Error(`INFO cpu has no ${name}`);
    return Number(match[1]);
  };
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** Every command Redis ran so far, those run inside scripts included (INFO commandstats). */
async function redisCalls(ctx: BenchContext): Promise<number> {
  let total = 0;
  for (const calls of (await ctx.redis.commandCalls()).values()) total += calls;
  return total;
}

interface AppStats {
  /** Commands the app's ioredis clients sent so far (the library's and the hand-written one's). */
  sent: number;
  /** The app process's CPU time so far (user + system), µs. */
  cpuUs: number;
}

async function appStats(app: ChildProcess): Promise<AppStats> {
  const reply = once(app, 'message') as Promise<[{ type: string } & AppStats]>;
  app.send({ type: 'stats' });
  const [message] = await reply;
  if (message.type !== 'stats') throw new Error(`S8 app answered ${message.type}`);
  return message;
}

async function load(ctx: BenchContext, app: App, path: string, seconds: number): Promise<Figures> {
  const [cpuBefore, callsBefore, appBefore] = [
    await redisCpuMicros(ctx),
    await redisCalls(ctx),
    await appStats(app.process),
  ];
  const result = await autocannon({
    url: `http://127.0.0.1:${app.port}${path}`,
    method: 'POST',
    // idReplacement rewrites `[<id>]` anywhere in the request: a fresh key for every request.
    headers: { 'content-type': 'application/json', 'idempotency-key': '[<id>]' },
    body: BODY,
    connections: CONNECTIONS,
    duration: seconds,
    idReplacement: true,
  });
  // Requests still in the app when autocannon stopped finish before the figures are read (and
  // before the next run's FLUSHALL, which would take their claims away).
  await sleep(200);
  const [cpuAfter, callsAfter, appAfter, keys] = [
    await redisCpuMicros(ctx),
    await redisCalls(ctx),
    await appStats(app.process),
    await ctx.redis.admin.dbsize(),
  ];
  const ok = result['2xx'];
  return {
    reqPerSec: ok / result.duration,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    redisCpuUs: (cpuAfter - cpuBefore) / ok,
    appCpuUs: (appAfter.cpuUs - appBefore.cpuUs) / ok,
    sentPerReq: (appAfter.sent - appBefore.sent) / ok,
    // Less the two INFO calls of the bench's own that fall inside the window.
    callsPerReq: (callsAfter - callsBefore - 2) / ok,
    keysPerReq: keys / ok,
    bad: result.errors + result.timeouts + result.non2xx,
  };
}

async function startApp(ctx: BenchContext): Promise<App> {
  const child = fork(join(__dirname, 's8-app.js'), [ctx.redis.url], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`S8 app exited (${String(code)}) before it listened`);
  });
  const [message] = (await Promise.race([once(child, 'message'), exited])) as [
    { type: string; port: number },
  ];
  exited.catch(() => undefined);
  if (message.type !== 'listening') throw new Error('S8 app did not start');
  return { process: child, port: message.port };
}

async function stopApp(app: ChildProcess): Promise<void> {
  if (app.exitCode !== null) return;
  const exited = once(app, 'exit');
  const killer = setTimeout(() => app.kill('SIGKILL'), 5000);
  app.send({ type: 'exit' });
  await exited;
  clearTimeout(killer);
}

/** Median over rounds of `id`'s req/s divided by `baseId`'s of the same round. */
function pairedRatio(results: Map<string, Figures[]>, id: string, baseId: string): number {
  const base = results.get(baseId) ?? [];
  return median(
    (results.get(id) ?? []).flatMap((r, round) =>
      base[round] ? [r.reqPerSec / base[round].reqPerSec] : [],
    ),
  );
}

export const s8: Scenario = {
  id: 'S8',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const seconds = ctx.options.quick ? 2 : 4;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 1 : 6);
    const apps = new Map<AppId, App>();
    const results = new Map<string, Figures[]>();
    try {
      for (const id of ['plain', 'hand', 'lib'] as const) apps.set(id, await startApp(ctx));
      const appOf = (endpoint: Endpoint): App => apps.get(endpoint.app) as App;
      // Warm-up; in the library's app it also turns on what the first @Idempotent() request
      // turns on for the whole process (the AsyncLocalStorage context), before its plain runs.
      for (const endpoint of ENDPOINTS) await load(ctx, appOf(endpoint), endpoint.path, 1);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < ENDPOINTS.length; i++) {
          const endpoint = ENDPOINTS[(i + round) % ENDPOINTS.length];
          await ctx.redis.flush();
          const figures = await load(ctx, appOf(endpoint), endpoint.path, seconds);
          ctx.log(
            `S8 round ${round + 1} ${endpoint.id}: ${figures.reqPerSec.toFixed(0)} req/s, ` +
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
        ratios: { reqPerSec: pairedRatio(results, endpoint.id, 'hand') },
        values: {
          reqPerSec: med('reqPerSec'),
          vsPlain: pairedRatio(results, endpoint.id, 'plain'),
          p50ms: med('p50ms'),
          p99ms: med('p99ms'),
          appCpuUs: med('appCpuUs'),
          redisCpuUs: med('redisCpuUs'),
          sentPerReq: med('sentPerReq'),
          callsPerReq: med('callsPerReq'),
          keysPerReq: med('keysPerReq'),
          bad: runs.reduce((sum, r) => sum + r.bad, 0),
        },
      };
    });
    return {
      id: 'S8',
      title: 'S8 — HTTP: idempotent POST endpoint, a fresh Idempotency-Key per request',
      method: `autocannon (programmatic, in the bench process), ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s per endpoint (medians over rounds), POST of a small JSON order with a fresh Idempotency-Key per request (autocannon idReplacement). The Nest (Express) app (DistributedLockModule.forRoot({ redis: url })) runs in three child processes of the same code, so that what one variant turns on for its whole process does not tax another: one serves the plain route, one the hand-written route, one the @Idempotent() route and, as the last row, its own plain route. The routes run the same handler body (returns a small JSON order). Hand-written: an interceptor sending SET idem:<key> <uuid> NX PX 30000 before the handler and SET idem:<key> <JSON response> PX 86400000 after it (two round trips; no fingerprint, fencing or renewal). "× plain": req/s over the plain endpoint's in the same round (median). app CPU: the serving process's CPU time (process.cpuUsage) over the run per 2xx response; Redis CPU: the same from INFO cpu (used_cpu_user + used_cpu_sys); sent: commands the app's ioredis clients sent (round trips); Redis cmds: INFO commandstats calls, those run inside Lua scripts included; keys: keys left in Redis after the run per request.`,
      columns: [
        { key: 'reqPerSec', label: 'req/s', digits: 0, ratio: true },
        { key: 'vsPlain', label: '× plain', digits: 2, ratio: false },
        { key: 'p50ms', label: 'p50 ms', digits: 1, ratio: false },
        { key: 'p99ms', label: 'p99 ms', digits: 1, ratio: false },
        { key: 'appCpuUs', label: 'app CPU µs/req', digits: 0, ratio: false },
        { key: 'redisCpuUs', label: 'Redis CPU µs/req', digits: 1, ratio: false },
        { key: 'sentPerReq', label: 'sent/req', digits: 2, ratio: false },
        { key: 'callsPerReq', label: 'Redis cmds/req', digits: 2, ratio: false },
        { key: 'keysPerReq', label: 'keys left/req', digits: 2, ratio: false },
        { key: 'bad', label: 'errors + non-2xx', digits: 0, ratio: false },
      ],
      rows,
      baselineId: 'hand',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
