// The servers of the other stores' scenarios: five independent redis-servers (S9), a
// PostgreSQL server (S10), a one-member etcd (S11). Each is stopped by `stop`, or killed if the
// bench exits first.
import { startEtcdCluster } from '../test/support/etcd-server';
import { startPostgresServer } from '../test/support/postgres-server';
import { type BenchRedis, startRedis } from './redis';

export interface StoreServers {
  /** What the store's contenders are set up with (several URLs separated by commas). */
  readonly url: string;
  /** Version of the server program, for the report. */
  readonly version: string;
  /** The Redis masters (S9), whose CPU time and commands are measured; empty otherwise. */
  readonly redis: BenchRedis[];
  stop(): Promise<void>;
}

export const REDLOCK_MASTERS = 5;

/** Five redis-servers started as the bench's own one is (loopback, persistence off). */
export async function startRedlockMasters(): Promise<StoreServers> {
  const masters: BenchRedis[] = [];
  try {
    for (let i = 0; i < REDLOCK_MASTERS; i++) masters.push(await startRedis());
  } catch (err) {
    await Promise.allSettled(masters.map((m) => m.stop()));
    throw err;
  }
  return {
    url: masters.map((m) => m.url).join(','),
    version: `redis-server ${masters[0].version} × ${REDLOCK_MASTERS}`,
    redis: masters,
    async stop() {
      await Promise.allSettled(masters.map((m) => m.stop()));
    },
  };
}

/** A throw-away PostgreSQL (initdb into a temporary directory, fsync off, loopback). */
export async function startPostgres(): Promise<StoreServers> {
  const server = await startPostgresServer();
  const kill = (): void => void server.stop('immediate').catch(() => undefined);
  process.once('exit', kill);
  let version = 'PostgreSQL';
  try {
    version = server.psql('SHOW server_version').split(' ')[0];
    version = `PostgreSQL ${version}`;
  } catch {
    // The version is only shown in the report.
  }
  return {
    url: server.url,
    version,
    redis: [],
    async stop() {
      process.removeListener('exit', kill);
      await server.stop();
    },
  };
}

/** A one-member etcd on loopback (heartbeat 50 ms, election timeout 500 ms). */
export async function startEtcd(): Promise<StoreServers> {
  const cluster = await startEtcdCluster(1);
  const kill = (): void => void cluster.stop().catch(() => undefined);
  process.once('exit', kill);
  let version = 'etcd';
  try {
    const res = await fetch(`${cluster.hosts[0]}/version`, { signal: AbortSignal.timeout(2000) });
    version = `etcd ${((await res.json()) as { etcdserver?: string }).etcdserver ?? '?'}`;
  } catch {
    // The version is only shown in the report.
  }
  return {
    url: cluster.hosts.join(','),
    version,
    redis: [],
    async stop() {
      process.removeListener('exit', kill);
      await cluster.stop();
    },
  };
}
