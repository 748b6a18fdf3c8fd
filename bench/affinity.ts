import { execFileSync } from 'node:child_process';

function taskset(args: string[]): string {
  return execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** The CPU list a process may run on, e.g. "0,1" or "0-3". */
function cpuList(pid: number): string {
  const match = /:\s*(\S+)\s*$/.exec(taskset(['-p', '-c', String(pid)]).trim());
  if (!match) throw new Error(`cannot read the CPU affinity of ${pid}`);
  return match[1];
}

/**
 * Pins every thread of the given processes to one CPU. Resolves a function that restores each
 * one's previous affinity, or undefined when pinning is not possible here (no taskset).
 */
export function pinToOneCpu(pids: readonly number[], cpu = 0): (() => void) | undefined {
  let previous: [number, string][];
  try {
    previous = pids.map((pid) => [pid, cpuList(pid)]);
    for (const pid of pids) taskset(['-a', '-p', '-c', String(cpu), String(pid)]);
  } catch {
    return undefined;
  }
  return () => {
    for (const [pid, list] of previous) {
      try {
        taskset(['-a', '-p', '-c', list, String(pid)]);
      } catch {
        // The process is gone: nothing to restore.
      }
    }
  };
}
