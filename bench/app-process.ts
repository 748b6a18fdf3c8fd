import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';

/** A Nest app in a child process (S5), listening on `port`. */
export interface AppProcess {
  process: ChildProcess;
  port: number;
}

/** What the app process reports when sent `{ type: 'stats' }`. */
export interface AppStats {
  /** Commands the app's ioredis clients sent so far. */
  sent: number;
  /** The app process's CPU time so far (user + system), µs. */
  cpuUs: number;
}

/** Forks `script` with `args` and resolves once it says it listens. */
export async function startApp(script: string, args: string[]): Promise<AppProcess> {
  const child = fork(script, args, {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${script} exited (${String(code)}) before it listened`);
  });
  const [message] = (await Promise.race([once(child, 'message'), exited])) as [
    { type: string; port: number },
  ];
  exited.catch(() => undefined);
  if (message.type !== 'listening') throw new Error(`${script} did not start`);
  return { process: child, port: message.port };
}

export async function appStats(app: ChildProcess): Promise<AppStats> {
  const reply = once(app, 'message') as Promise<[{ type: string } & AppStats]>;
  app.send({ type: 'stats' });
  const [message] = await reply;
  if (message.type !== 'stats') throw new Error(`app answered ${message.type}`);
  return message;
}

export async function stopApp(app: ChildProcess): Promise<void> {
  if (app.exitCode !== null || app.signalCode !== null) return;
  const exited = once(app, 'exit');
  const killer = setTimeout(() => app.kill('SIGKILL'), 5000);
  app.send({ type: 'exit' });
  await exited;
  clearTimeout(killer);
}
