import { Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { WithLock } from '../../lib';
import { REPORT_INTERVAL_MS } from './report-interval';
import { ReportService } from './report.service';

/**
 * Every instance schedules the job; the lock makes one of them run it at a time. An instance
 * that finds `job:report` held skips that tick (`onLocked: 'skip'`) instead of queueing behind
 * it, and a tick that fires while this instance's previous run is still going is skipped too.
 */
@Injectable()
export class ReportJob {
  constructor(private readonly reports: ReportService) {}

  @Interval('report', REPORT_INTERVAL_MS)
  @WithLock('job:report', { onLocked: 'skip' })
  async generateReport(): Promise<void> {
    await this.reports.generate();
  }
}
