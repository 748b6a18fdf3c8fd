import type { Redis } from 'ioredis';

/** Redis's work so far, added up over one or more servers (every master of a Cluster). */
interface Snapshot {
  /** used_cpu_user + used_cpu_sys (all threads), µs. */
  cpuUs: number;
  /** Calls per command (INFO commandstats: commands run inside Lua scripts included). */
  calls: Map<string, number>;
}

/** Redis's work per acquisition over a run. */
export interface RedisCost {
  /** Redis CPU time (user + system) per acquisition, µs. */
  redisCpuUs: number;
  /** Commands Redis ran per acquisition, those inside scripts included; not the bench's INFO. */
  redisCmds: number;
}

function field(info: string, name: string): number {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  if (!match) throw new Error(`INFO has no ${name}`);
  return Number(match[1]);
}

async function snapshot(servers: readonly Redis[]): Promise<Snapshot> {
  const calls = new Map<string, number>();
  let cpuUs = 0;
  // One INFO per server (Redis 7 takes several sections), so the probe adds one call each.
  const infos = await Promise.all(servers.map((s) => s.info('cpu', 'commandstats')));
  for (const info of infos) {
    cpuUs += (field(info, 'used_cpu_user') + field(info, 'used_cpu_sys')) * 1e6;
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      calls.set(match[1], (calls.get(match[1]) ?? 0) + Number(match[2]));
    }
  }
  return { cpuUs, calls };
}

/**
 * Starts measuring what `servers` do (INFO cpu and commandstats before and after); `end(n)`
 * divides by the `n` acquisitions of the run. Redis's own background work (its 10 Hz cron)
 * falls in the window too; it is well under 1 ms a second.
 */
export async function measureRedis(
  servers: readonly Redis[],
): Promise<{ end(acquisitions: number): Promise<RedisCost> }> {
  const before = await snapshot(servers);
  return {
    async end(acquisitions) {
      const after = await snapshot(servers);
      let calls = 0;
      for (const [name, n] of after.calls) {
        if (name !== 'info') calls += n - (before.calls.get(name) ?? 0);
      }
      const per = Math.max(1, acquisitions);
      return { redisCpuUs: (after.cpuUs - before.cpuUs) / per, redisCmds: calls / per };
    },
  };
}

/** The two columns every scenario prints, as ratios to its baseline. */
export const REDIS_COST_COLUMNS = [
  { key: 'redisCpuUs', label: 'Redis CPU µs/acq', digits: 1, ratio: true },
  { key: 'redisCmds', label: 'Redis cmds/acq', digits: 2, ratio: true },
];

export const REDIS_COST_METHOD =
  'Redis CPU µs/acq: redis-server CPU time (INFO cpu, used_cpu_user + used_cpu_sys) over the run per acquisition; Redis cmds/acq: INFO commandstats calls over the run per acquisition, commands run inside Lua scripts included (the bench’s own INFO left out).';
