// A child process of the etcd mutual-exclusion tests: increments a counter kept in etcd with an
// unprotected read, pause, write, under the lock (or without it, with --unlocked).
// Prints one JSON line: how many increments it made, the fencing tokens it saw, and how many
// holds ended with the lock lost (the holder told by lock.signal).
require('@nestjs/common').Logger.overrideLogger(false);
const { Etcd3 } = require('etcd3');
const { LockService } = require('../../dist');

async function main() {
  const [hostsText, iterationsText, mode, holdMsText] = process.argv.slice(2);
  const hosts = hostsText.split(',');
  const iterations = Number(iterationsText);
  const holdMs = Number(holdMsText ?? 0);
  const etcd = new Etcd3({ hosts });
  const locks = new LockService({ etcd: { hosts }, ttl: 3000, waitTimeout: 120000 });
  const pause = () => new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 1));
  const increment = async () => {
    const value = Number((await etcd.get('shared:counter').string()) ?? 0);
    await pause();
    if (holdMs) await new Promise((r) => setTimeout(r, holdMs));
    await etcd.put('shared:counter').value(String(value + 1));
  };
  const fencing = [];
  let lost = 0;
  let done = 0;
  for (let i = 0; i < iterations; i++) {
    if (mode === '--unlocked') {
      await increment();
      done++;
      continue;
    }
    for (;;) {
      try {
        await locks.using('shared:counter', async (lock) => {
          fencing.push(lock.fencingToken);
          await increment();
          // A holder told of a loss must not count its write as safe.
          if (lock.signal.aborted) lost++;
        });
        done++;
        break;
      } catch (err) {
        // The store unreachable for a moment (a leader election): try again.
        if (err && err.name === 'LockStoreUnavailableError') continue;
        throw err;
      }
    }
  }
  process.stdout.write(JSON.stringify({ done, fencing, lost }) + '\n');
  await locks.close();
  etcd.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
