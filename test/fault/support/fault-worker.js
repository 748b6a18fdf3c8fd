// A child process of the fault suite: one LockService of the built package (`dist/`), driven by
// JSON commands on stdin, one per line: { cmd, id, ... }. Each command is answered with the
// event `reply:<id>`; a held lock `<name>` whose signal aborts prints the event `lost:<name>`.
// Every event carries `at` (Date.now() when it happened) so the test can time what it saw.
// One JSON argument: { redis, cluster?, service?, storeUrl? }
//   redis     a redis:// URL or ioredis options (e.g. sentinels) for the service
//   cluster   cluster node list [{ host, port }]: the service gets an ioredis Cluster instead
//   storeUrl  where the fenced store lives (a redis:// URL), for `fencedWrite`
// Commands:
//   acquire  { lock, key, options, permits?, abortAfter?, retryUnavailable? }  takes a lock (or
//            a semaphore permit); abortAfter aborts its AbortSignal after that many ms;
//            retryUnavailable keeps retrying (after 100 ms) while the store is unavailable (503)
//   release  { lock }     extend { lock, ttl? }     state { lock }
//   fencedWrite { lock, value, delayMs? }  after delayMs, without looking at the lock's signal,
//            writes `value` to the fenced store with the lock's fencing token
//   probe    { key, durationMs, intervalMs? }  tries to take the lock every intervalMs (and frees
//            it at once when it got it): when did anyone else get it, and which errors
//   exit     closes the service and every connection, then exits 0
const { Redis, Cluster } = require('ioredis');
const { Logger } = require('@nestjs/common');
// NDL_FAULT_DIST: another build of the package to run against (e.g. one of a given commit).
const { LockService } = require(process.env.NDL_FAULT_DIST || '../../../dist');

// A passing fault run prints no error lines: the lost-lock and connection warnings are expected.
Logger.overrideLogger(false);

const send = (event, data = {}) =>
  process.stdout.write(JSON.stringify({ event, at: Date.now(), ...data }) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const describe = (err) => ({
  name: err?.name ?? typeof err,
  message: String(err?.message ?? err),
  cause: err?.cause?.message,
});

process.on('unhandledRejection', (reason) => send('unhandledRejection', describe(reason)));

// The store keeps the highest fencing token it accepted and rejects a write with a lower one.
const FENCED_WRITE = `
local highest = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < highest then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
`;

const config = JSON.parse(process.argv[2]);
let cluster;
if (config.cluster) {
  cluster = new Cluster(config.cluster);
  cluster.on('error', () => undefined);
}
const locks = new LockService({ redis: cluster ?? config.redis, ...config.service });
const store = config.storeUrl ? new Redis(config.storeUrl) : undefined;
store?.on('error', () => undefined);
const held = new Map();

function describeLock(lock) {
  return {
    token: lock.token,
    fencingToken: lock.fencingToken,
    validUntil: lock.validUntil,
    isHeld: typeof lock.isHeld === 'function' ? lock.isHeld() : undefined,
    aborted: lock.signal.aborted,
  };
}

const commands = {
  async acquire({ lock: name, key, options = {}, permits, abortAfter, retryUnavailable }) {
    const startedAt = Date.now();
    const unavailable = [];
    for (;;) {
      const controller = abortAfter !== undefined ? new AbortController() : undefined;
      const timer = controller && setTimeout(() => controller.abort(), abortAfter);
      const opts = controller ? { ...options, signal: controller.signal } : options;
      try {
        const lock = permits
          ? await locks.semaphore(key, permits).acquire(opts)
          : await locks.acquire(key, opts);
        const acquiredAt = Date.now();
        held.set(name, lock);
        lock.signal.addEventListener('abort', () =>
          send(`lost:${name}`, { reason: describe(lock.signal.reason), ...describeLock(lock) }),
        );
        return { ok: true, startedAt, acquiredAt, unavailable, ...describeLock(lock) };
      } catch (err) {
        if (retryUnavailable && err?.name === 'LockStoreUnavailableError') {
          unavailable.push(Date.now());
          await sleep(100);
          continue;
        }
        return { ok: false, startedAt, unavailable, error: describe(err) };
      } finally {
        clearTimeout(timer);
      }
    }
  },
  async release({ lock: name }) {
    const lock = held.get(name);
    const startedAt = Date.now();
    try {
      return { ok: true, startedAt, released: await lock.release() };
    } catch (err) {
      return { ok: false, startedAt, error: describe(err) };
    }
  },
  async extend({ lock: name, ttl }) {
    try {
      return { ok: true, extended: await held.get(name).extend(ttl) };
    } catch (err) {
      return { ok: false, error: describe(err) };
    }
  },
  async state({ lock: name }) {
    return describeLock(held.get(name));
  },
  async fencedWrite({ lock: name, value, delayMs = 0 }) {
    if (delayMs > 0) await sleep(delayMs);
    const lock = held.get(name);
    const writtenAt = Date.now();
    const accepted = await store.eval(
      FENCED_WRITE,
      2,
      'store:highest-fence',
      'store:writes',
      String(lock.fencingToken),
      String(value),
    );
    return { accepted: accepted === 1, writtenAt, fencingToken: lock.fencingToken };
  },
  async probe({ key, durationMs, intervalMs = 100 }) {
    const report = { attempts: 0, acquired: [], busy: 0, errors: {} };
    for (const until = Date.now() + durationMs; Date.now() < until; await sleep(intervalMs)) {
      report.attempts++;
      try {
        const lock = await locks.tryAcquire(key);
        if (!lock) {
          report.busy++;
          continue;
        }
        report.acquired.push(Date.now());
        await lock.release();
      } catch (err) {
        report.errors[err?.name] = (report.errors[err?.name] ?? 0) + 1;
      }
    }
    return report;
  },
  async exit() {
    await locks.close();
    store?.disconnect();
    cluster?.disconnect();
    return {};
  },
};

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
  let newline;
  while ((newline = input.indexOf('\n')) >= 0) {
    const line = input.slice(0, newline).trim();
    input = input.slice(newline + 1);
    if (!line.startsWith('{')) continue;
    const command = JSON.parse(line);
    commands[command.cmd](command)
      .catch((err) => ({ ok: false, error: describe(err) }))
      .then((reply) => {
        send(`reply:${command.id}`, reply);
        if (command.cmd === 'exit') process.stdin.destroy();
      });
  }
});

send('ready');
