// A child process of the PostgreSQL mutual-exclusion test: increments a shared counter row with
// an unprotected read, pause, write, under the lock (or without it, with --unlocked).
// Prints one JSON line: how many increments it made and the fencing tokens it saw.
require('@nestjs/common').Logger.overrideLogger(false);
const { Pool } = require('pg');
const { LockService } = require('../../dist');

async function main() {
  const [url, iterationsText, mode] = process.argv.slice(2);
  const iterations = Number(iterationsText);
  const pool = new Pool({ connectionString: url, max: 2 });
  const locks = new LockService({ postgres: url, ttl: 5000, waitTimeout: 60000 });
  const pause = () => new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 1));
  const read = async (name) =>
    Number((await pool.query('SELECT value FROM counter WHERE name = $1', [name])).rows[0].value);
  const write = (name, value) =>
    pool.query('UPDATE counter SET value = $2 WHERE name = $1', [name, value]);
  const increment = async () => {
    const value = await read('counter');
    await pause();
    await write('counter', value + 1);
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
      if (lock.fencingToken <= (await read('last-fence'))) staleFence++;
      await write('last-fence', lock.fencingToken);
      fencing.push(lock.fencingToken);
      await increment();
    });
  }
  process.stdout.write(JSON.stringify({ done: iterations, fencing, staleFence }) + '\n');
  await locks.onApplicationShutdown();
  await pool.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
