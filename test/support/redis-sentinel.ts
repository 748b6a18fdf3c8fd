import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { registerTestProcess } from './process-registry';
import { freePort, RedisServer, startRedisServer } from './redis-server';

export interface SentinelSetup {
  readonly masterName: string;
  readonly sentinelPort: number;
  readonly master: RedisServer;
  readonly replica: RedisServer;
  stop(): Promise<void>;
}

/** A master, a replica of it, and one redis-sentinel watching them, all on loopback. */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  const masterName = 'locks';
  const master = await startRedisServer();
  const replica = await startRedisServer();
  const admin = new Redis(replica.url);
  await admin.replicaof('127.0.0.1', master.port);
  const deadline = Date.now() + 10_000;
  while (!(await admin.info('replication')).includes('master_link_status:up')) {
    if (Date.now() > deadline) throw new Error('replica did not sync');
    await new Promise((r) => setTimeout(r, 50));
  }
  admin.disconnect();

  const dir = mkdtempSync(join(tmpdir(), 'ndl-sentinel-'));
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 500`,
      `sentinel failover-timeout ${masterName} 2000`,
      '',
    ].join('\n'),
  );
  const sentinel: ChildProcess = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
  sentinel.unref();
  registerTestProcess(sentinel.pid);
  for (;;) {
    const probe = new Redis({
      port: sentinelPort,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      const addr = await probe.call('SENTINEL', 'get-master-addr-by-name', masterName);
      if (addr) break;
    } catch {
      // not up yet
    } finally {
      if (probe.status !== 'end') probe.disconnect();
    }
    if (Date.now() > deadline + 10_000) throw new Error('sentinel did not start');
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    masterName,
    sentinelPort,
    master,
    replica,
    async stop() {
      if (sentinel.exitCode === null && sentinel.signalCode === null) {
        const exited = once(sentinel, 'exit');
        sentinel.kill('SIGKILL');
        await exited;
      }
      await Promise.all([master.stop(), replica.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
