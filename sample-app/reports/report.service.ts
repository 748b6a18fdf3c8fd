import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import type { ReportRuns } from './report-run.interface';

/** Generates the (pretend) report and counts how often it did. */
@Injectable()
export class ReportService {
  private readonly logger = new Logger(ReportService.name);
  private runs = 0;
  private lastRunAt: Date | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async generate(): Promise<void> {
    await sleep(this.config.reportWorkMs);
    this.runs++;
    this.lastRunAt = new Date();
    this.logger.log(`Report #${this.runs} generated (pid ${process.pid})`);
  }

  summary(): ReportRuns {
    return { runs: this.runs, lastRunAt: this.lastRunAt?.toISOString() ?? null };
  }
}
