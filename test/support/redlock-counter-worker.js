// A child process of the Redlock mutual-exclusion test: increments a shared counter (on its own
// redis-server) with an unprotected read, pause, write, under a Redlock lock over the masters.
// Prints one JSON line: increments made, fencing tokens seen, and calls that failed closed.
require('@nestjs/common').Logger.overrideLogger(false);
const { Redis } = require('ioredis');
const { LockService } = require('../../dist');

async function main() {
  const [url, iterationsText, mastersText] = process.argv.slice(2);
  const iterations = Number(iterationsText);
  const redis = new Redis(url);
  const unlocked = mastersText === '--unlocked';
  const locks = new LockService({
    redlock: unlocked ? undefined : { masters: mastersText.split(',') },
    evictionPolicy: 'ignore',
    ttl: 5000,
    waitTimeout: 60000,
  });
  const pause = () => new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 1));
  const fencing = [];
  let staleFence = 0;
  let unavailable = 0;
  if (unlocked) {
    // The control: the same increments with no lock, which lose updates.
    for (let i = 0; i < iterations; i++) {
      const value = Number((await redis.get('shared:counter')) ?? 0);
      await pause();
      await redis.set('shared:counter', String(value + 1));
    }
  }
  for (let done = unlocked ? iterations : 0; done < iterations; ) {
    try {
      await locks.using('shared:counter', async (lock) => {
        const last = Number((await redis.get('shared:last-fence')) ?? 0);
        if (lock.fencingToken <= last) staleFence++;
        await redis.set('shared:last-fence', String(lock.fencingToken));
        fencing.push(lock.fencingToken);
        const value = Number((await redis.get('shared:counter')) ?? 0);
        await pause();
        await redis.set('shared:counter', String(value + 1));
      });
      done++;
    } catch (err) {
      // Fails closed while no majority answers: try again, as a client would.
      if (err && err.code === 'LOCK_STORE_UNAVAILABLE') {
        unavailable++;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      throw err;
    }
  }
  process.stdout.write(JSON.stringify({ done: iterations, fencing, staleFence, unavailable }) + '\n');
  await locks.close();
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
