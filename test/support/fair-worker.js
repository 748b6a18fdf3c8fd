// A child process of the fairness tests: waits for one lock with the built package, and when it
// gets it RPUSHes {"name","at"} to `list`, holds it `holdMs`, releases it and exits.
// One JSON argument: { url, key, name, list, recheckInterval, waitTimeout, holdMs }.
// Prints {"event":"acquired"} and then {"event":"result"} on stdout.
// Expected connection warnings must not print: a passing run prints no error lines.
require('@nestjs/common').Logger.overrideLogger(false);
const { Redis } = require('ioredis');
const { LockService } = require('../../dist');

const send = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const config = JSON.parse(process.argv[2]);
  const redis = new Redis(config.url);
  const locks = new LockService({ redis: config.url, recheckInterval: config.recheckInterval });
  const lock = await locks.acquire(config.key, { waitTimeout: config.waitTimeout });
  const at = Date.now();
  await redis.rpush(config.list, JSON.stringify({ name: config.name, at }));
  send('acquired', { at, fencingToken: lock.fencingToken });
  await sleep(config.holdMs);
  await lock.release();
  send('result', { at });
  await locks.onApplicationShutdown();
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
