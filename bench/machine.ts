import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { packageVersion } from './contenders/contender';

export interface MachineInfo {
  nproc: string;
  cpu: string;
  memory: string;
  kernel: string;
  node: string;
  redis: string;
  ioredis: string;
}

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(availableParallelism());
  }
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match ? match[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machineInfo(redisVersion: string): MachineInfo {
  return {
    nproc: nproc(),
    cpu: cpuModel(),
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    redis: redisVersion,
    ioredis: packageVersion('ioredis'),
  };
}

export function machineMarkdown(info: MachineInfo): string {
  return [
    `- nproc: ${info.nproc}`,
    `- CPU: ${info.cpu}`,
    `- memory: ${info.memory}`,
    `- OS: ${info.kernel}`,
    `- Node: ${info.node}`,
    `- Redis: ${info.redis} (own redis-server on 127.0.0.1, persistence off)`,
    `- client: ${info.ioredis}`,
  ].join('\n');
}
