import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { useRedisServer } from '../support/use-redis-server';

const WORKER = join(__dirname, '..', 'support', 'counter-worker.js');
const PROCESSES = 4;
const ITERATIONS = 150;

interface WorkerReport {
  done: number;
  fencing: number[];
  staleFence: number;
}

function runWorker(url: string, mode?: string): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const args = [WORKER, url, String(ITERATIONS), ...(mode ? [mode] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as WorkerReport);
    });
  });
}

describe('mutual exclusion across processes (real redis-server)', () => {
  const fixture = useRedisServer({ build: true, flush: true });

  it('loses updates without the lock (the check below can fail)', async () => {
    await Promise.all(
      Array.from({ length: PROCESSES }, () => runWorker(fixture.server.url, '--unlocked')),
    );
    const counter = Number(await fixture.redis.get('shared:counter'));
    expect(counter).toBeLessThan(PROCESSES * ITERATIONS);
  });

  it(`loses no update when ${PROCESSES} processes read, pause and write under the lock`, async () => {
    const reports = await Promise.all(
      Array.from({ length: PROCESSES }, () => runWorker(fixture.server.url)),
    );
    const counter = Number(await fixture.redis.get('shared:counter'));
    expect(counter).toBe(PROCESSES * ITERATIONS);
    expect(reports.map((r) => r.done)).toEqual(Array(PROCESSES).fill(ITERATIONS));

    // Fencing tokens strictly increase across every holder in every process.
    expect(reports.reduce((n, r) => n + r.staleFence, 0)).toBe(0);
    for (const report of reports) {
      for (let i = 1; i < report.fencing.length; i++) {
        expect(report.fencing[i]).toBeGreaterThan(report.fencing[i - 1]);
      }
    }
    const all = reports.flatMap((r) => r.fencing);
    expect(new Set(all).size).toBe(all.length);
    expect(await fixture.redis.exists('lock:{shared:counter}')).toBe(0);
  });
});
