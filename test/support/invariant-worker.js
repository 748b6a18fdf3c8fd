// A child process of the primitives tests. One JSON argument:
//   { url, scenario, options, service? }   runs a workload of invariant-scenarios.js against the
//       built package and a Redis tally; prints {"event":"ready"}, waits for "go" on stdin (so
//       every process starts together), then prints {"event":"result", ...report} and exits.
//   { url, scenario: 'hold-permit', key, permits, ttl, autoExtend }   takes one semaphore permit,
//       prints {"event":"held","token":...} and stays alive until killed.
// Expected connection warnings must not print: a passing run prints no error lines.
require('@nestjs/common').Logger.overrideLogger(false);
const { Redis } = require('ioredis');
const { LockService } = require('../../dist');
const { scenarios, redisTally } = require('./invariant-scenarios');

const send = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');

function waitForGo() {
  return new Promise((resolve, reject) => {
    let input = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      input += chunk;
      if (input.includes('go\n')) {
        process.stdin.destroy();
        resolve();
      }
    });
    process.stdin.on('end', () => reject(new Error('stdin closed before "go"')));
  });
}

async function holdPermit(config) {
  const locks = new LockService({ redis: config.url });
  const permit = await locks
    .semaphore(config.key, config.permits)
    .acquire({ ttl: config.ttl, autoExtend: config.autoExtend, waitTimeout: 5000 });
  send('held', { token: permit.token });
  setInterval(() => undefined, 60_000);
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  if (config.scenario === 'hold-permit') return holdPermit(config);
  const run = scenarios[config.scenario];
  if (!run) throw new Error(`unknown scenario ${config.scenario}`);
  const redis = new Redis(config.url);
  const locks = new LockService({ redis: config.url, ...config.service });
  await redis.ping();
  send('ready');
  await waitForGo();
  const report = await run(locks, redisTally(redis), config.options);
  send('result', report);
  await locks.onApplicationShutdown();
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
