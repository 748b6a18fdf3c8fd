// A child process of the mutual-exclusion test: increments a shared Redis counter with an
// unprotected read, pause, write, under the lock (or without it, with --unlocked).
// Prints one JSON line: how many increments it made and the fencing tokens it saw.
// Expected connection warnings must not print: a passing run prints no error lines.
require('@nestjs/common').Logger.overrideLogger(false);
const { Redis } = require('ioredis');
const { LockService } = require('../../dist');

async function main() {
  const [url, iterationsText, mode] = process.argv.slice(2);
  const iterations = Number(iterationsText);
  const redis = new Redis(url);
  const locks = new LockService({ redis: url, ttl: 5000, waitTimeout: 60000 });
  const pause = () => new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 1));
  const increment = async () => {
    const value = Number((await redis.get('shared:counter')) ?? 0);
    await pause();
    await redis.set('shared:counter', String(value + 1));
  };
  const fencing = [];
  let staleFence = 0;
  for (let i = 0; i < iterations; i++) {
    if (mode === '--unlocked') {
      await increment();
      continue;
    }
    await locks.using('shared:counter', async (lock) => {
      // The guarded resource's side of fencing: it must never see a token go backwards.
      const last = Number((await redis.get('shared:last-fence')) ?? 0);
      if (lock.fencingToken <= last) staleFence++;
      await redis.set('shared:last-fence', String(lock.fencingToken));
      fencing.push(lock.fencingToken);
      await increment();
    });
  }
  process.stdout.write(JSON.stringify({ done: iterations, fencing, staleFence }) + '\n');
  await locks.onApplicationShutdown();
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
