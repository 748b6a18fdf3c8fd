import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerTestProcess } from './process-registry';
import { freePort } from './redis-server';

export interface PostgresServer {
  readonly port: number;
  /** A `postgres://` URL for the `postgres` superuser, over TCP on loopback. */
  readonly url: string;
  /** Stops the server (`immediate`: without waiting for clients), waiting until it has. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server but keeps its data, for `resume` (a database going down mid-test). */
  halt(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory (after `halt`). */
  resume(): Promise<void>;
  /** Runs SQL with psql as the superuser, resolving its unaligned output. */
  psql(sql: string): string;
}

/** Debian's PostgreSQL binaries (the newest installed major version). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0], 'bin');
}

/** Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses root). */
function asPostgres(program: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', program, ...args]]
    : [program, args];
  const result = spawnSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} failed: ${result.stderr?.toString()}`);
  }
}

/**
 * Starts a throw-away PostgreSQL server: `initdb` into a temporary directory owned by the
 * `postgres` user, `pg_ctl start` on a free loopback port with the socket in that directory,
 * trust authentication. Its postmaster pid is registered for the global teardown.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'ndl-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const start = (): void => {
    asPostgres(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      '-w',
      'start',
    ]);
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    registerTestProcess(pid);
  };
  start();
  let running = true;
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (!running) return;
    running = false;
    asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
  };
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop(mode) {
      await stop(mode);
      rmSync(dir, { recursive: true, force: true });
    },
    halt: stop,
    async resume() {
      if (running) return;
      start();
      running = true;
    },
    psql(sql: string): string {
      return execFileSync(
        join(bin, 'psql'),
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-At', '-c', sql],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
        .toString()
        .trim();
    },
  };
}
