import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../test/support/redis-server';

/** A throw-away redis-server of the bench's own, on a free loopback port. */
export interface BenchRedis {
  readonly port: number;
  readonly url: string;
  /** Process id of redis-server. */
  readonly pid: number;
  /** A connection for the bench itself (INFO, FLUSHALL, counters); not used by contenders. */
  readonly admin: Redis;
  readonly version: string;
  /** Rejects if the server exits before `stop()` (with its last log lines); never resolves. */
  readonly failure: Promise<never>;
  /** `total_commands_processed` from INFO stats. */
  commandsProcessed(): Promise<number>;
  /** `used_memory` from INFO memory, in bytes. */
  usedMemory(): Promise<number>;
  /** Calls per command name, from INFO commandstats (commands run by Lua scripts included). */
  commandCalls(): Promise<Map<string, number>>;
  /** Empties the server between runs so every contender starts from the same state. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

async function connectWhenUp(port: number, child: ChildProcess): Promise<Redis> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch {
      // After a failed connect, disconnect() would leave a 2 s ioredis timer behind.
      if (client.status !== 'end') client.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function infoField(info: string, field: string): string {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  if (!match) throw new Error(`INFO has no ${field}`);
  return match[1].trim();
}

/** Starts redis-server bound to 127.0.0.1 only, with persistence off. */
export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      // Its own empty directory: never load (or leave) a dump.rdb of the working directory.
      ...['--dir', dir],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Its last log lines, to say why it stopped if it stops during the run.
  const lastLines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lastLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lastLines.splice(0, Math.max(0, lastLines.length - 8));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let stopping = false;
  const failure = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      if (stopping) return;
      reject(
        new Error(
          `redis-server exited during the run (${signal ?? `code ${code}`}); its last log lines: ${lastLines.join(' / ')}`,
        ),
      );
    });
  });
  failure.catch(() => undefined);
  // If the bench dies, the server must not outlive it.
  const killOnExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  const admin = await connectWhenUp(port, child);
  const version = infoField(await admin.info('server'), 'redis_version');
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    admin,
    version,
    failure,
    async commandsProcessed() {
      return Number(infoField(await admin.info('stats'), 'total_commands_processed'));
    },
    async usedMemory() {
      return Number(infoField(await admin.info('memory'), 'used_memory'));
    },
    async commandCalls() {
      const calls = new Map<string, number>();
      for (const match of (await admin.info('commandstats')).matchAll(
        /^cmdstat_([^:]+):calls=(\d+)/gm,
      )) {
        calls.set(match[1], Number(match[2]));
      }
      return calls;
    },
    async flush() {
      await admin.flushall();
    },
    async stop() {
      stopping = true;
      admin.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      process.removeListener('exit', killOnExit);
    },
  };
}
