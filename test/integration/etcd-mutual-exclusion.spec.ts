import { Etcd3 } from 'etcd3';
import { ensureBuilt } from '../support/build-once';
import { EtcdCluster, runEtcdWorker, startEtcdCluster } from '../support/etcd-server';

const PROCESSES = 4;
const ITERATIONS = 60;

jest.setTimeout(120_000);

describe('mutual exclusion across processes (real etcd)', () => {
  let cluster: EtcdCluster;
  let etcd: Etcd3;
  beforeAll(async () => {
    ensureBuilt();
    cluster = await startEtcdCluster(1);
    etcd = new Etcd3({ hosts: cluster.hosts });
  });
  afterAll(async () => {
    etcd?.close();
    await cluster?.stop();
  });
  beforeEach(async () => {
    await etcd.delete().all();
  });

  it('loses updates without the lock (the check below can fail)', async () => {
    await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runEtcdWorker(cluster.hosts, ITERATIONS, ['--unlocked']),
      ),
    );
    expect(Number(await etcd.get('shared:counter').string())).toBeLessThan(PROCESSES * ITERATIONS);
  });

  it(`loses no update when ${PROCESSES} processes read, pause and write under the lock`, async () => {
    const reports = await Promise.all(
      Array.from({ length: PROCESSES }, () => runEtcdWorker(cluster.hosts, ITERATIONS)),
    );
    expect(Number(await etcd.get('shared:counter').string())).toBe(PROCESSES * ITERATIONS);
    expect(reports.map((r) => r.done)).toEqual(Array(PROCESSES).fill(ITERATIONS));
    // Fencing tokens strictly increase within each process and never repeat across them.
    for (const report of reports) {
      for (let i = 1; i < report.fencing.length; i++) {
        expect(report.fencing[i]).toBeGreaterThan(report.fencing[i - 1]);
      }
    }
    const all = reports.flatMap((r) => r.fencing);
    expect(new Set(all).size).toBe(all.length);
    // Nothing left under the lock's prefix.
    expect(await etcd.getAll().prefix('lock:{shared:counter}/').keys()).toEqual([]);
  });
});
