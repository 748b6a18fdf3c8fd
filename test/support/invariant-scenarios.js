// Workloads of the primitives tests, shared by the child processes (invariant-worker.js, with the
// built package and a Redis tally) and the in-process runs (memory store, memory tally).
// A "tally" is where the guarded state lives; its `enter`/`leave` are atomic, `get`/`set` are not
// (so an unprotected read, pause, write loses updates unless a lock serializes it).

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pause = (maxMs) => sleep(Math.floor(Math.random() * (maxMs + 1)));
const randomInt = (n) => Math.floor(Math.random() * n);

/** Runs `count` calls of `one`, `concurrency` at a time; each caller is its own async chain. */
async function inParallel(count, concurrency, one) {
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        await one();
      }
    }),
  );
}

/**
 * Moves random amounts between random pairs of accounts, holding both accounts' locks (unless
 * `unlocked`), with an unprotected read, pause, write of both balances.
 * Reports how much this caller moved in and out of each account.
 */
async function transfers(locks, tally, options) {
  const { accounts, count, concurrency = 1, pauseMs = 2, unlocked = false, lockOptions } = options;
  const moved = Object.fromEntries(accounts.map((account) => [account, 0]));
  let done = 0;
  await inParallel(count, concurrency, async () => {
    const i = randomInt(accounts.length);
    let j = randomInt(accounts.length - 1);
    if (j >= i) j++;
    const from = accounts[i];
    const to = accounts[j];
    const amount = 1 + randomInt(10);
    const work = async () => {
      const a = await tally.get(`balance:${from}`);
      const b = await tally.get(`balance:${to}`);
      await pause(pauseMs);
      await tally.set(`balance:${from}`, a - amount);
      await tally.set(`balance:${to}`, b + amount);
    };
    if (unlocked) await work();
    else await locks.using([from, to], work, lockOptions);
    moved[from] -= amount;
    moved[to] += amount;
    done++;
  });
  return { done, moved };
}

/**
 * A mix of readers and writers of one read-write lock. Each counts itself in "active readers" or
 * "active writers" on entry (atomically reading the other counters) and out on exit; a writer
 * seeing any other holder, or a reader seeing a writer, is a violation.
 */
async function readWrite(locks, tally, options) {
  const { key, count, concurrency = 1, writeRatio = 0.25, holdMs = 4, lockOptions } = options;
  const R = `rw:${key}:readers`;
  const W = `rw:${key}:writers`;
  const report = { reads: 0, writes: 0, violations: 0, maxReaders: 0, maxWriters: 0 };
  await inParallel(count, concurrency, async () => {
    const write = Math.random() < writeRatio;
    await locks.using(
      key,
      async () => {
        if (write) {
          const [writers, readers] = await tally.enter(W, [R]);
          report.maxWriters = Math.max(report.maxWriters, writers);
          if (writers !== 1 || readers !== 0) report.violations++;
          await pause(holdMs);
          const [, readersAtExit] = await tally.leave(W, [R]);
          if (readersAtExit !== 0) report.violations++;
          report.writes++;
        } else {
          const [readers, writers] = await tally.enter(R, [W]);
          report.maxReaders = Math.max(report.maxReaders, readers);
          if (writers !== 0) report.violations++;
          await pause(holdMs);
          const [, writersAtExit] = await tally.leave(R, [W]);
          if (writersAtExit !== 0) report.violations++;
          report.reads++;
        }
      },
      { ...lockOptions, mode: write ? 'write' : 'read' },
    );
  });
  return report;
}

/** Callers of one semaphore count themselves in and out of "active holders". */
async function semaphore(locks, tally, options) {
  const { key, permits, count, concurrency = 1, holdMs = 5, lockOptions } = options;
  const sem = locks.semaphore(key, permits);
  const active = `sem:${key}:active`;
  const report = { done: 0, violations: 0, maxActive: 0 };
  await inParallel(count, concurrency, async () => {
    await sem.using(async () => {
      const [n] = await tally.enter(active, []);
      report.maxActive = Math.max(report.maxActive, n);
      if (n > permits) report.violations++;
      await pause(holdMs);
      await tally.leave(active, []);
      report.done++;
    }, lockOptions);
  });
  return report;
}

/** A tally in Redis: `enter`/`leave` are MULTI transactions. */
function redisTally(redis) {
  const step = async (command, counter, others) => {
    const tx = redis.multi()[command](counter);
    for (const other of others) tx.get(other);
    const replies = await tx.exec();
    return replies.map(([err, value]) => {
      if (err) throw err;
      return Number(value ?? 0);
    });
  };
  return {
    enter: (counter, others) => step('incr', counter, others),
    leave: (counter, others) => step('decr', counter, others),
    get: async (name) => Number((await redis.get(name)) ?? 0),
    set: async (name, value) => {
      await redis.set(name, String(value));
    },
  };
}

/** A tally in this process; every call yields to the event loop first, like a round trip. */
function memoryTally() {
  const values = new Map();
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const value = (name) => values.get(name) ?? 0;
  const step = async (delta, counter, others) => {
    await tick();
    values.set(counter, value(counter) + delta);
    return [value(counter), ...others.map(value)];
  };
  return {
    values,
    enter: (counter, others) => step(1, counter, others),
    leave: (counter, others) => step(-1, counter, others),
    get: async (name) => {
      await tick();
      return value(name);
    },
    set: async (name, v) => {
      await tick();
      values.set(name, v);
    },
  };
}

module.exports = {
  scenarios: { transfers, readWrite, semaphore },
  redisTally,
  memoryTally,
};
