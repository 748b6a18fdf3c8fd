import { useRedisServer } from '../support/use-redis-server';
import { Fleet, report, verify } from './support/fault-harness';

const PROCESSES = 6;
const CHAINS = 3;
const LOCKED_MS = 8000;
const UNLOCKED_MS = 2000;

interface ChurnReport {
  done: Record<string, number>;
  ops: Record<string, number>;
  gaveUp: number;
  unexpected: string[];
  readViolations: number;
  maxPool: number;
  heldAtEnd: number;
}

describe(`${PROCESSES} processes of random lock churn over shared counters`, () => {
  const fleet = Fleet.use();
  const fixture = useRedisServer();
  const rows: Record<string, unknown>[] = [];

  async function churn(unlocked: boolean, durationMs: number) {
    await fixture.redis.flushall();
    const config = {
      url: fixture.server.url,
      durationMs,
      chains: CHAINS,
      unlocked,
      service: { ttl: 2000, recheckInterval: 100 },
    };
    const workers = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) =>
        fleet.spawn(`churn ${unlocked ? 'unlocked' : 'locked'} ${i}`, config, 'churn-worker.js'),
      ),
    );
    for (const w of workers) w.worker.go();
    const reports = await Promise.all(workers.map((w) => w.worker.result<ChurnReport>()));
    const counters = [...new Set(reports.flatMap((r) => Object.keys(r.done)))].sort();
    const lost: Record<string, number> = {};
    for (const counter of counters) {
      const expected = reports.reduce((n, r) => n + (r.done[counter] ?? 0), 0);
      lost[counter] = expected - Number(await fixture.redis.get(counter));
    }
    const sum = (pick: (r: ChurnReport) => number) => reports.reduce((n, r) => n + pick(r), 0);
    const ops = sum((r) => Object.values(r.ops).reduce((a, b) => a + b, 0));
    const row = {
      run: unlocked ? `control, no lock (${durationMs} ms)` : `locked (${durationMs} ms)`,
      operations: ops,
      'critical sections': sum((r) => Object.values(r.done).reduce((a, b) => a + b, 0)),
      'gave up (timeout/abort)': sum((r) => r.gaveUp),
      'lost updates per counter': lost,
      'read saw a write': sum((r) => r.readViolations),
      'max in pool of 3': Math.max(...reports.map((r) => r.maxPool)),
      'other errors': sum((r) => r.unexpected.length),
    };
    rows.push(row);
    return { reports, lost, row };
  }

  it('loses no update under the lock, and keeps read locks, semaphores and every error as promised', async () => {
    const { reports, lost, row } = await churn(false, LOCKED_MS);
    verify([
      () => expect(Object.values(lost).every((n) => n === 0)).toBe(true),
      () => expect(Object.keys(lost)).toEqual(['c:a', 'c:b', 'c:m', 'c:rw', 'c:s']),
      () => expect(row['read saw a write']).toBe(0),
      () => expect(row['max in pool of 3']).toBeLessThanOrEqual(3),
      () => expect(reports.flatMap((r) => r.unexpected)).toEqual([]),
      () => expect(reports.map((r) => r.heldAtEnd)).toEqual(Array(PROCESSES).fill(0)),
    ]);
  });

  it('loses updates without the lock (the control run: the check above can fail)', async () => {
    const { lost } = await churn(true, UNLOCKED_MS);
    report('7. random churn, 6 processes x 3 callers', rows);
    expect(Object.values(lost).some((n) => n > 0)).toBe(true);
  });

  it('ends cleanly: no unhandledRejection anywhere, every worker exits on its own', async () => {
    expect(await fleet.finish()).toEqual({ rejections: [], stuck: [] });
  });
});
