import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type RedisCluster, startRedisCluster } from '../test/support/redis-cluster';
import { freePort } from '../test/support/redis-server';

/** A local Redis Cluster of the bench's own, with a connection to each master for INFO. */
export interface BenchCluster extends RedisCluster {
  readonly masters: number;
  /** One plain connection per master (INFO), not used by contenders. */
  readonly admins: readonly Redis[];
}

async function connectAdmin(port: number): Promise<Redis> {
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await admin.connect();
      await admin.ping();
      return admin;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * One cluster-enabled master owning all 16,384 slots (`redis-cli --cluster create` wants 3):
 * the same Cluster client and key layout as on 3 masters, on one server.
 */
async function startOneMaster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
      // Alone, it never learns its own address, and CLUSTER SLOTS would name it "".
      ...['--cluster-announce-ip', '127.0.0.1'],
      ...['--dir', dir],
    ],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const admin = await connectAdmin(port);
    try {
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      const deadline = Date.now() + 20_000;
      while (!String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('one-master cluster did not come up');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      admin.disconnect();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports: [port], stop };
}

/** Starts a local cluster of 1 or 3 masters (no replicas, persistence off) on loopback. */
export async function startBenchCluster(masters: 1 | 3): Promise<BenchCluster> {
  const cluster = masters === 1 ? await startOneMaster() : await startRedisCluster(3);
  // If the bench dies, the servers must not outlive it (stop() kills them synchronously).
  const killOnExit = (): void => void cluster.stop().catch(() => undefined);
  process.once('exit', killOnExit);
  const admins = await Promise.all(cluster.ports.map(connectAdmin));
  return {
    masters,
    ports: cluster.ports,
    admins,
    async stop() {
      for (const admin of admins) admin.disconnect();
      process.removeListener('exit', killOnExit);
      await cluster.stop();
    },
  };
}
