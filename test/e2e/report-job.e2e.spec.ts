import './support/short-report-interval';
import { SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';
import { REPORT_INTERVAL_MS } from '../../sample-app/reports/report-interval';
import { ReportService } from '../../sample-app/reports/report.service';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { SampleApp, startSampleApp, waitFor } from './support/sample-app';

describe('ReportJob on two instances sharing one Redis', () => {
  let server: RedisServer;
  const instances: SampleApp[] = [];
  // Shared by both instances (one process): how many reports are being generated right now.
  let active = 0;
  let maxActive = 0;
  let started = 0;

  /** Counts concurrent runs of the report service of `app`, across instances. */
  function track(service: ReportService): void {
    const generate = service.generate.bind(service);
    service.generate = async () => {
      active++;
      started++;
      maxActive = Math.max(maxActive, active);
      try {
        await generate();
      } finally {
        active--;
      }
    };
  }

  beforeAll(async () => {
    server = await startRedisServer();
    for (let i = 0; i < 2; i++) {
      instances.push(
        await startSampleApp(
          // A run lasts three intervals: without the lock, runs would overlap even on one instance.
          { redisUrl: server.url, scheduleEnabled: true, reportWorkMs: 300 },
          { beforeInit: (app) => track(app.get(ReportService)) },
        ),
      );
    }
  });

  afterAll(async () => {
    for (const sample of instances) await sample.close();
    await server?.stop();
  });

  it('runs the job, never on two instances at once', async () => {
    expect(REPORT_INTERVAL_MS).toBe(100);

    await waitFor(() => started >= 4, 'four report runs', 20_000);
    // Stop scheduling, then let the run in progress finish before looking.
    for (const sample of instances) sample.app.get(SchedulerRegistry).deleteInterval('report');
    await waitFor(() => active === 0, 'the last report run to finish');

    expect(maxActive).toBe(1);
    const runs = await Promise.all(
      instances.map(async (sample) => (await request(sample.url).get('/reports/runs')).body.runs),
    );
    expect(runs.reduce((sum, n) => sum + n, 0)).toBe(started);
  });
});
