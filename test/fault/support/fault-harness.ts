import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../../support/build-once';
import { killAllWorkers, spawnWorker, Worker, WorkerMessage } from '../../support/spawn-worker';

/** What a worker answered to one command (see fault-worker.js). */
export type Reply = WorkerMessage & {
  ok?: boolean;
  error?: { name: string; message: string; cause?: string };
};

/** Slack on every "by then" bound: event-loop lag of a few busy processes on 2 cores. */
export const MARGIN_MS = 250;

/** The owner token in a lock's Redis value (which may carry a mark after it: `<token> waited`). */
export const ownerToken = (value: string | null): string | undefined => value?.split(' ')[0];

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One fault-worker.js process: a LockService of the built package, driven by commands. */
export class FaultWorker {
  private nextId = 0;
  private readonly events: WorkerMessage[] = [];
  exitedOnItsOwn: boolean | undefined;

  constructor(
    readonly name: string,
    readonly worker: Worker,
  ) {
    // A second reader of the same stdout: lets the test look at events without waiting for them.
    let buffer = '';
    worker.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as WorkerMessage);
      }
    });
  }

  get pid(): number {
    return this.worker.child.pid!;
  }

  /** Sends a command; resolves its reply (whenever it comes, within `timeoutMs`). */
  call(cmd: string, args: object = {}, timeoutMs = 60_000): Promise<Reply> {
    const id = ++this.nextId;
    this.worker.child.stdin!.write(JSON.stringify({ cmd, id, ...args }) + '\n');
    return this.worker.message(`reply:${id}`, timeoutMs) as Promise<Reply>;
  }

  /** Resolves the `lost:<lock>` event (the lock's signal aborted), within `timeoutMs`. */
  lost(lock: string, timeoutMs: number): Promise<WorkerMessage> {
    return this.worker.message(`lost:${lock}`, timeoutMs);
  }

  /** The `lost:<lock>` event if it was printed already. */
  lostSoFar(lock: string): WorkerMessage | undefined {
    return this.events.find((e) => e.event === `lost:${lock}`);
  }

  unhandledRejections(): WorkerMessage[] {
    return this.events.filter((e) => e.event === 'unhandledRejection');
  }

  pause(): void {
    this.worker.child.kill('SIGSTOP');
  }

  resume(): void {
    this.worker.child.kill('SIGCONT');
  }

  kill(): Promise<void> {
    return this.worker.kill();
  }

  /** Asks the worker to close its service and exit; SIGKILL after `graceMs` if it does not. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.worker.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    this.call('exit', {}, graceMs).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.worker.exited.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    this.exitedOnItsOwn = exited === true;
    if (!exited) await this.worker.kill();
  }
}

/** The workers of one test file, and the checks every test file ends with. */
export class Fleet {
  readonly workers: FaultWorker[] = [];
  private readonly rejections: string[] = [];
  private readonly onRejection = (reason: unknown): void => {
    this.rejections.push(
      reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
    );
  };

  /** Starts a worker (fault-worker.js, or another script of test/fault/support) and waits until it is ready. */
  async spawn(name: string, config: object, script = 'fault-worker.js'): Promise<FaultWorker> {
    const worker = new FaultWorker(name, spawnWorker(`../fault/support/${script}`, config));
    this.workers.push(worker);
    await worker.worker.message('ready', 20_000);
    return worker;
  }

  /** Stops every worker (those that do not exit on their own are killed). */
  async stopAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    await killAllWorkers();
  }

  /**
   * Stops every worker, then tells what went wrong: `unhandledRejection` in any worker or in
   * this (the test) process, and workers that did not exit on their own after `close()`.
   */
  async finish(): Promise<{ rejections: string[]; stuck: string[] }> {
    await this.stopAll();
    return {
      rejections: this.unhandledRejections(),
      stuck: this.workers.filter((w) => w.exitedOnItsOwn === false).map((w) => w.name),
    };
  }

  /** `unhandledRejection` in any worker this fleet started, or in this (the test) process. */
  unhandledRejections(): string[] {
    return [
      ...this.rejections.map((r) => `test process: ${r}`),
      ...this.workers.flatMap((w) =>
        w
          .unhandledRejections()
          .map((e) => `${w.name}: ${e.name as string}: ${e.message as string}`),
      ),
    ];
  }

  /** Registers the hooks of a fault test file: build, watch for rejections, stop every worker. */
  static use(): Fleet {
    const fleet = new Fleet();
    beforeAll(() => {
      if (!process.env.NDL_FAULT_DIST) ensureBuilt();
      process.on('unhandledRejection', fleet.onRejection);
    });
    afterAll(async () => {
      await fleet.stopAll();
      process.off('unhandledRejection', fleet.onRejection);
    });
    return fleet;
  }
}

/**
 * Runs every check and fails with all of their messages at once: a scenario that breaks more
 * than one promise says so in one run.
 */
export function verify(checks: (() => void)[]): void {
  const failures: string[] = [];
  for (const check of checks) {
    try {
      check();
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} of ${checks.length} checks failed:\n\n${failures.join('\n\n')}`,
    );
  }
}

const RESULTS = join(__dirname, '..', 'results.txt');

/**
 * Prints one scenario's figures as a compact table (one console.log) and keeps them in
 * test/fault/results.txt, replacing that scenario's previous section.
 */
export function report(scenario: string, rows: Record<string, unknown>[], note = ''): void {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown): string =>
    value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const table = [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
  const section = [`## ${scenario}`, ...(note ? [note] : []), ...table, ''].join('\n');
  console.log(section);

  let text = '';
  try {
    text = readFileSync(RESULTS, 'utf8');
  } catch {
    text = '# Figures of the last `npm run test:fault` run of each scenario (ms unless stated)\n\n';
  }
  const start = text.indexOf(`## ${scenario}\n`);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + 1);
    text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : '');
  } else {
    text += (text.endsWith('\n\n') ? '' : '\n') + section;
  }
  writeFileSync(RESULTS, text);
}
