// A child process of the churn scenario: `chains` async callers run random lock work for
// `durationMs`: exclusive locks, read and write locks, multi-key locks, semaphores, manual
// acquire/extend/release, with short waitTimeouts and AbortSignals that give up. Every critical
// section does an unprotected read, pause, write of a shared Redis counter (so it loses updates
// unless the lock serializes it); `unlocked` does the same work without any lock.
// One JSON argument: { url, durationMs, chains, unlocked, service }.
// Prints {"event":"ready"}, waits for "go" on stdin, then prints {"event":"result", ...report}.
const { Redis } = require('ioredis');
const { Logger } = require('@nestjs/common');
const { LockService } = require(process.env.NDL_FAULT_DIST || '../../../dist');

Logger.overrideLogger(false);

const send = (event, data = {}) =>
  process.stdout.write(JSON.stringify({ event, at: Date.now(), ...data }) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = (items) => items[Math.floor(Math.random() * items.length)];

process.on('unhandledRejection', (reason) =>
  send('unhandledRejection', { name: reason?.name, message: String(reason?.message ?? reason) }),
);

/** Errors that only mean "gave up as asked": a waitTimeout passed or the signal aborted. */
const GAVE_UP = new Set(['LockNotAcquiredError', 'AbortError', 'TimeoutError']);

async function main() {
  const config = JSON.parse(process.argv[2]);
  const redis = new Redis(config.url);
  const locks = new LockService({ redis: config.url, ...config.service });
  const report = { done: {}, ops: {}, gaveUp: 0, unexpected: [], readViolations: 0, maxPool: 0 };

  /** The unprotected read, pause, write: loses updates when two run at once. */
  const increment = async (counter) => {
    const value = Number((await redis.get(counter)) ?? 0);
    await sleep(Math.random() < 0.5 ? 0 : 1 + Math.floor(Math.random() * 3));
    await redis.set(counter, String(value + 1));
    report.done[counter] = (report.done[counter] ?? 0) + 1;
  };
  const options = () => {
    const opts = { waitTimeout: pick([0, 20, 200, 2000, 5000]) };
    if (Math.random() < 0.25) opts.signal = AbortSignal.timeout(Math.floor(Math.random() * 100));
    return opts;
  };
  const guarded = (key, work, opts) => (config.unlocked ? work() : locks.using(key, work, opts));

  const operations = {
    exclusive: () => guarded('a', () => increment('c:a'), options()),
    multiKey: () =>
      guarded(
        Math.random() < 0.5 ? ['a', 'b'] : ['b', 'a'],
        async () => {
          await increment('c:a');
          await increment('c:b');
        },
        options(),
      ),
    write: () => guarded('rw', () => increment('c:rw'), { ...options(), mode: 'write' }),
    read: () =>
      guarded(
        'rw',
        async () => {
          // No writer may run while a read lock is held: the value must not move.
          const before = await redis.get('c:rw');
          await sleep(Math.floor(Math.random() * 3));
          if ((await redis.get('c:rw')) !== before) report.readViolations++;
        },
        { ...options(), mode: 'read' },
      ),
    semaphoreOfOne: () =>
      config.unlocked
        ? increment('c:s')
        : locks.semaphore('s', 1).using(() => increment('c:s'), options()),
    pool: async () => {
      const work = async () => {
        const active = await redis.incr('pool:active');
        report.maxPool = Math.max(report.maxPool, active);
        await sleep(Math.floor(Math.random() * 3));
        await redis.decr('pool:active');
      };
      if (config.unlocked) return work();
      return locks.semaphore('pool', 3).using(work, options());
    },
    manual: async () => {
      if (config.unlocked) return increment('c:m');
      const lock = await locks.acquire('m', { ...options(), ttl: 2000 });
      try {
        if (Math.random() < 0.3) await lock.extend(3000);
        await increment('c:m');
      } finally {
        await lock.release();
      }
    },
  };
  const names = Object.keys(operations);

  await redis.ping();
  send('ready');
  await new Promise((resolve) => {
    process.stdin.on('data', (chunk) => String(chunk).includes('go') && resolve());
  });
  const until = Date.now() + config.durationMs;
  await Promise.all(
    Array.from({ length: config.chains }, async () => {
      while (Date.now() < until) {
        const name = pick(names);
        report.ops[name] = (report.ops[name] ?? 0) + 1;
        try {
          await operations[name]();
        } catch (err) {
          if (GAVE_UP.has(err?.name)) report.gaveUp++;
          else report.unexpected.push(`${name}: ${err?.name}: ${err?.message}`);
        }
      }
    }),
  );
  report.heldAtEnd = locks.heldCount;
  send('result', report);
  process.stdin.destroy();
  await locks.close();
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
