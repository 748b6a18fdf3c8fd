// `npm run bench`: starts its own redis-server, runs every scenario for this library, the floor
// and the published peers (interleaved), prints Markdown and writes it to bench/results/latest.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from './cli';
import { installCommandCounter } from './command-counter';
import { CONTENDER_IDS, createContender } from './contenders';
import type { Contender } from './contenders/contender';
import { machineInfo, machineMarkdown } from './machine';
import { startRedis } from './redis';
import { markdownTable, scenarioMarkdown } from './report';
import type { BenchContext, Scenario, ScenarioReport } from './scenario';
import { s1 } from './scenarios/s1-sequential';
import { s2 } from './scenarios/s2-concurrent';
import { s3 } from './scenarios/s3-contended';
import { s4 } from './scenarios/s4-multiprocess';
import { s5 } from './scenarios/s5-http';
import { s6 } from './scenarios/s6-memory';
import { s7 } from './scenarios/s7-cluster';
import { s8 } from './scenarios/s8-idempotent';
import { s10, s11, s9 } from './scenarios/s9-stores';
import { evaluateTargets, targetsMarkdown } from './targets';

const SCENARIOS: Scenario[] = [s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11];
/** Whatever happens, the bench stops by itself. */
const HARD_LIMIT_MS = 12 * 60 * 1000;
const RESULTS_DIR = join(__dirname, '..', '..', 'bench', 'results');

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

/** Sets up a contender and checks one acquire/release; the reason it is unusable otherwise. */
async function prepare(contender: Contender, url: string): Promise<string | undefined> {
  const reason = await smokeTest(contender, url).catch(describe);
  if (reason !== undefined) await contender.close().catch(() => undefined);
  return reason;
}

async function smokeTest(contender: Contender, url: string): Promise<string | undefined> {
  await contender.setup(url);
  const key = `smoke:${contender.id}`;
  const release = await contender.acquire(key, 1000);
  if (!release) return 'could not take a free key';
  if (await contender.acquire(key, 0)) return 'took a key that was held';
  await release();
  const again = await contender.acquire(key, 0);
  if (!again) return 'could not take a released key';
  await again();
  return undefined;
}

async function main(): Promise<void> {
  const hardLimit = setTimeout(() => {
    log(`stopped: the run took longer than ${HARD_LIMIT_MS / 60_000} minutes`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  hardLimit.unref();

  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(describe(err));
    process.exit(2);
  }
  const unknown = (options.contenders ?? []).filter((id) => !CONTENDER_IDS.includes(id));
  if (unknown.length) {
    console.error(`unknown contender(s) ${unknown.join(', ')}; known: ${CONTENDER_IDS.join(', ')}`);
    process.exit(2);
  }
  installCommandCounter();
  const started = Date.now();
  const redis = await startRedis();
  const machine = machineInfo(redis.version);
  log(
    `redis-server ${redis.version} on ${redis.url}; node ${process.version}; nproc ${machine.nproc}`,
  );

  const ctx: BenchContext = { redis, options, contenders: [], unavailable: [], log };
  for (const id of options.contenders ?? CONTENDER_IDS) {
    const contender = createContender(id);
    const reason = await prepare(contender, redis.url);
    if (reason === undefined) ctx.contenders.push(contender);
    else {
      log(`${contender.name}: n/a (${reason})`);
      ctx.unavailable.push({ id, name: contender.name, reason });
    }
  }

  let aborted: string | undefined;
  redis.failure.catch((err: Error) => {
    aborted = err.message;
    log(err.message);
  });
  const reports = new Map<string, ScenarioReport>();
  for (const scenario of SCENARIOS.filter((s) => options.only.includes(s.id))) {
    if (aborted) break;
    log(`${scenario.id} starting`);
    try {
      reports.set(scenario.id, await scenario.run(ctx));
    } catch (err) {
      log(`${scenario.id} failed: ${describe(err)}`);
    }
  }

  const all = [...ctx.contenders, ...ctx.unavailable.map((u) => createContender(u.id))];
  const settings = markdownTable(
    ['contender', 'package', 'settings'],
    all.map((c) => {
      const na = ctx.unavailable.find((u) => u.id === c.id);
      return [c.name, c.version, na ? `n/a: ${na.reason}` : c.settings];
    }),
    3,
  );
  const failedScenarios = options.only.filter((id) => !reports.has(id));
  const markdown = [
    `## Benchmark results (${new Date().toISOString().slice(0, 10)}${options.quick ? ', --quick' : ''})`,
    '',
    machineMarkdown(machine),
    `- run: contenders interleaved round-robin in every scenario (rounds and run lengths per scenario below; median over rounds reported), S6 ${options.s6Cycles.toLocaleString('en-US')} cycles, ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
    '',
    '### Targets',
    '',
    targetsMarkdown(evaluateTargets(reports)),
    ...(failedScenarios.length
      ? ['', `Scenarios that failed to run: ${failedScenarios.join(', ')}`]
      : []),
    ...(aborted ? ['', `Run aborted: ${aborted}`] : []),
    '',
    ...[...reports.values()].flatMap((report) => [scenarioMarkdown(report), '']),
    '### Contenders',
    '',
    settings,
    '',
  ].join('\n');

  process.stdout.write(`\n${markdown}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
  log(`written to ${join(RESULTS_DIR, 'latest.md')}`);

  await Promise.allSettled(ctx.contenders.map((c) => c.close()));
  await redis.stop();
  process.exit(failedScenarios.length ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
