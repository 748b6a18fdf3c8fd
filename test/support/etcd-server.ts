import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerTestProcess } from './process-registry';
import { freePort } from './redis-server';

/** One member of a throw-away etcd cluster on loopback. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  /** Whether its process runs. */
  readonly running: boolean;
  /** Stops it (SIGKILL when `hard`), waiting until the process has exited. */
  stop(hard?: boolean): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Every member's client URL: what `etcd: { hosts }` takes. */
  readonly hosts: string[];
  /** The member that leads now (asked of the running members). */
  leader(): Promise<EtcdMember>;
  /** Stops every member and removes the data directories. */
  stop(): Promise<void>;
}

/** Installs Debian's `etcd-server` when the binary is missing (the suite runs as root in CI). */
export function ensureEtcd(): void {
  if (spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  spawnSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], { stdio: 'ignore', env });
}

interface Status {
  leader: string;
  member: string;
}

/** The member's view of the leader, through etcd's JSON gateway; `undefined` when it does not answer. */
async function statusOf(clientUrl: string): Promise<Status | undefined> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
    if (!body.leader || body.leader === '0' || !body.header?.member_id) return undefined;
    return { leader: body.leader, member: body.header.member_id };
  } catch {
    return undefined;
  }
}

/**
 * Starts `size` etcd members on free loopback ports, each with a data directory of its own,
 * and waits until they have elected a leader. Short heartbeat and election timeout (50 ms,
 * 500 ms): the smallest lease etcd then grants is 1 s.
 */
export async function startEtcdCluster(size = 1): Promise<EtcdCluster> {
  ensureEtcd();
  const dataRoot = mkdtempSync(join(tmpdir(), 'ndl-etcd-'));
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const names = ports.map((_, i) => `m${i}`);
  const initialCluster = names
    .map((name, i) => `${name}=http://127.0.0.1:${ports[i].peer}`)
    .join(',');
  const members = names.map((name, i) => {
    const clientUrl = `http://127.0.0.1:${ports[i].client}`;
    const peerUrl = `http://127.0.0.1:${ports[i].peer}`;
    const child: ChildProcess = spawn(
      'etcd',
      [
        '--name',
        name,
        '--data-dir',
        join(dataRoot, name),
        '--listen-client-urls',
        clientUrl,
        '--advertise-client-urls',
        clientUrl,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `ndl-${ports[0].client}`,
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        '--logger',
        'zap',
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    child.unref();
    registerTestProcess(child.pid);
    const member: EtcdMember = {
      name,
      clientUrl,
      get running() {
        return child.exitCode === null && child.signalCode === null;
      },
      async stop(hard = false) {
        if (!member.running) return;
        const exited = once(child, 'exit');
        child.kill(hard ? 'SIGKILL' : 'SIGTERM');
        await exited;
      },
    };
    return member;
  });
  const cluster: EtcdCluster = {
    members,
    hosts: members.map((m) => m.clientUrl),
    async leader() {
      const deadline = Date.now() + 15_000;
      for (;;) {
        for (const member of members) {
          if (!member.running) continue;
          const status = await statusOf(member.clientUrl);
          if (!status) continue;
          if (status.leader === status.member) return member;
        }
        if (Date.now() > deadline) throw new Error('the etcd cluster elected no leader');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await Promise.all(members.map((m) => m.stop(true)));
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
  try {
    await cluster.leader();
    // Every member answers with a leader, not only the one found first.
    for (const member of members) {
      const deadline = Date.now() + 15_000;
      while (!(await statusOf(member.clientUrl))) {
        if (Date.now() > deadline) throw new Error(`etcd member ${member.name} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

export interface EtcdWorkerReport {
  done: number;
  fencing: number[];
  lost: number;
}

/** Runs test/support/etcd-counter-worker.js: `iterations` increments of a counter in etcd. */
export function runEtcdWorker(hosts: string[], iterations: number, args: string[] = []) {
  return new Promise<EtcdWorkerReport>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, 'etcd-counter-worker.js'), hosts.join(','), String(iterations), ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as EtcdWorkerReport);
    });
  });
}
