import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchContext, Row, Scenario, ScenarioReport } from '../scenario';
import { median, now } from '../stats';

const CONNECTIONS = 50;

interface Endpoint {
  id: string;
  name: string;
  path: string;
}

const ENDPOINTS: Endpoint[] = [
  { id: 'plain', name: 'plain endpoint (no lock)', path: '/plain/[<id>]' },
  { id: 'locked', name: "@WithLock('bench:<id>') endpoint (this library)", path: '/locked/[<id>]' },
];

type LoadFigures = Awaited<ReturnType<typeof load>>;

async function load(port: number, path: string, seconds: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    idReplacement: true,
  });
  return {
    reqPerSec: result['2xx'] / result.duration,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    bad: result.errors + result.timeouts + result.non2xx,
  };
}

export const s5: Scenario = {
  id: 'S5',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const seconds = ctx.options.quick ? 2 : 4;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 1 : 4);
    const app = fork(join(__dirname, 's5-app.js'), [ctx.redis.url], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const results = new Map<string, LoadFigures[]>();
    try {
      const [message] = (await once(app, 'message')) as [{ type: string; port: number }];
      if (message.type !== 'listening') throw new Error('S5 app did not start');
      const { port } = message;
      for (const endpoint of ENDPOINTS) await load(port, endpoint.path, 1); // warm-up
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < ENDPOINTS.length; i++) {
          const endpoint = ENDPOINTS[(i + round) % ENDPOINTS.length];
          await ctx.redis.flush();
          const figures = await load(port, endpoint.path, seconds);
          ctx.log(
            `S5 round ${round + 1} ${endpoint.id}: ${figures.reqPerSec.toFixed(0)} req/s, ${figures.bad} bad`,
          );
          results.set(endpoint.id, [...(results.get(endpoint.id) ?? []), figures]);
        }
      }
    } finally {
      if (app.exitCode === null) {
        const exited = once(app, 'exit');
        const killer = setTimeout(() => app.kill('SIGKILL'), 5000);
        app.send({ type: 'exit' });
        await exited;
        clearTimeout(killer);
      }
    }
    const plainRuns = results.get('plain') ?? [];
    const rows: Row[] = ENDPOINTS.map((endpoint) => {
      const runs = results.get(endpoint.id) ?? [];
      // Plain and locked run back to back in each round: compare them round by round.
      const paired = runs.flatMap((r, round) => {
        const plain = plainRuns[round]?.reqPerSec;
        return plain ? [r.reqPerSec / plain] : [];
      });
      return {
        ratios: paired.length ? { reqPerSec: median(paired) } : undefined,
        contenderId: endpoint.id,
        name: endpoint.name,
        values: {
          reqPerSec: median(runs.map((r) => r.reqPerSec)),
          p50ms: median(runs.map((r) => r.p50ms)),
          p99ms: median(runs.map((r) => r.p99ms)),
          bad: runs.reduce((sum, r) => sum + r.bad, 0),
        },
      };
    });
    return {
      id: 'S5',
      title: 'S5 — HTTP: Nest (Express) endpoint with and without @WithLock',
      method: `autocannon (programmatic, in the bench process), ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s per endpoint (medians over rounds), against a Nest app in a child process with DistributedLockModule.forRoot({ redis: url }); every request has its own id (autocannon idReplacement), so each locked request takes a lock of its own.`,
      columns: [
        { key: 'reqPerSec', label: 'req/s', digits: 0, ratio: true },
        { key: 'p50ms', label: 'p50 ms', digits: 1, ratio: false },
        { key: 'p99ms', label: 'p99 ms', digits: 1, ratio: false },
        { key: 'bad', label: 'errors + non-2xx', digits: 0, ratio: false },
      ],
      rows,
      baselineId: 'plain',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
