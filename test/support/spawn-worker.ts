import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { fenceKeyOf } from './fence-keys';

/** One JSON line a worker printed: `{ event, ...data }`. */
export type WorkerMessage = { event: string } & Record<string, unknown>;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** A child process running one of the scripts of `test/support/` (they load `dist/`). */
export interface Worker {
  readonly child: ChildProcess;
  /** The first message of this event, received already or later; rejects if the worker exits first. */
  message(event: string, timeoutMs?: number): Promise<WorkerMessage>;
  /** Lets a worker waiting at its start line go. */
  go(): void;
  /** The `result` message; rejects unless the worker exits with code 0. */
  result<T = WorkerMessage>(): Promise<T>;
  readonly exited: Promise<WorkerExit>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

const live = new Map<ChildProcess, Promise<WorkerExit>>();

export function spawnWorker(script: string, config: object): Worker {
  const child = spawn(process.execPath, [join(__dirname, script), JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: WorkerMessage[] = [];
  const waiting = new Set<() => void>();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    let newline: number;
    while ((newline = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, newline).trim();
      stdout = stdout.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      messages.push(JSON.parse(line) as WorkerMessage);
      for (const notify of waiting) notify();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<WorkerExit>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, stderr });
      for (const notify of waiting) notify();
    });
  });
  live.set(child, exited);
  let gone = false;
  void exited.then(() => (gone = true));

  const message = (event: string, timeoutMs = 20_000): Promise<WorkerMessage> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = messages.find((m) => m.event === event);
        if (found) return finish(() => resolve(found));
        if (gone || child.exitCode !== null || child.signalCode !== null) {
          finish(() =>
            reject(
              new Error(
                `${script} exited (${child.exitCode ?? child.signalCode}) before "${event}": ${stderr}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${script}: no "${event}" in ${timeoutMs} ms`))),
        timeoutMs,
      );
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        waiting.delete(check);
        settle();
      };
      waiting.add(check);
      check();
    });

  return {
    child,
    message,
    go: () => child.stdin!.write('go\n'),
    async result<T>(): Promise<T> {
      const exit = await exited;
      if (exit.code !== 0) {
        throw new Error(`${script} exited with ${exit.code ?? exit.signal}: ${exit.stderr}`);
      }
      return (await message('result', 0)) as unknown as T;
    },
    exited,
    async kill(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Kills every worker still running (a failed test must not leave processes behind). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all(
    [...live].map(async ([child, exited]) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }),
  );
}

/** Polls `condition` every 10 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The Redis keys of lock `key` (default prefix). */
export function lockKeys(key: string, namespace = '') {
  const id = `lock:${namespace}{${key}}`;
  return {
    lock: id,
    fence: fenceKeyOf(key),
    queue: `${id}:queue`,
    waiters: `${id}:waiters`,
    writers: `${id}:writers`,
    holders: `${id}:holders`,
    channel: `${id}:wake`,
  };
}

/** Members of a zset in score order. */
export function zmembers(redis: Redis, key: string): Promise<string[]> {
  return redis.zrange(key, 0, '-1');
}
