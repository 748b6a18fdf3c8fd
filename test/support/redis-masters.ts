import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { registerTestProcess } from './process-registry';
import { freePort } from './redis-server';
import { startTcpProxy, TcpProxy } from './tcp-proxy';

/** One independent redis-server for Redlock tests, with the faults a real process can have. */
export interface RedisMaster {
  readonly port: number;
  /** Where clients connect: the proxy when there is one, else the server itself. */
  readonly url: string;
  /** The loopback proxy in front of the server (delays, cuts), when asked for. */
  readonly proxy: TcpProxy | undefined;
  /** A client straight to the server (not through the proxy), for looking at keys. */
  readonly direct: Redis;
  /** SIGSTOP: the process keeps its sockets and data but answers nothing. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** SIGKILL, waiting until the process has exited; its data is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (after `kill`). */
  restart(): Promise<void>;
  readonly running: boolean;
}

export interface RedisMasters {
  readonly masters: RedisMaster[];
  readonly urls: string[];
  /** Stops every server, proxy and client. */
  close(): Promise<void>;
}

function launch(port: number): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  child.unref();
  registerTestProcess(child.pid);
  return child;
}

async function ready(client: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function startMaster(withProxy: boolean): Promise<RedisMaster> {
  const port = await freePort();
  let child = launch(port);
  let paused = false;
  const direct = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  direct.on('error', () => undefined);
  await ready(direct);
  const proxy = withProxy ? await startTcpProxy(port) : undefined;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = async (): Promise<void> => {
    if (!alive()) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    paused = false;
  };
  return {
    port,
    url: `redis://127.0.0.1:${proxy ? proxy.port : port}`,
    proxy,
    direct,
    get running() {
      return alive() && !paused;
    },
    pause() {
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child.kill('SIGCONT');
      paused = false;
    },
    kill,
    async restart() {
      await kill();
      child = launch(port);
      await ready(direct);
    },
  };
}

/** Starts `count` independent redis-servers (no replication), each behind a proxy if asked. */
export async function startRedisMasters(
  count: number,
  options: { proxies?: boolean } = {},
): Promise<RedisMasters> {
  const masters = await Promise.all(
    Array.from({ length: count }, () => startMaster(options.proxies ?? false)),
  );
  return {
    masters,
    urls: masters.map((m) => m.url),
    async close() {
      for (const master of masters) {
        if (!master.running) master.resume();
        master.direct.disconnect();
        await master.proxy?.close();
        await master.kill();
      }
    },
  };
}
