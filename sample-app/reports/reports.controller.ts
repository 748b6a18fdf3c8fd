import { Controller, Get } from '@nestjs/common';
import type { ReportRuns } from './report-run.interface';
import { ReportService } from './report.service';

@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportService) {}

  /** 200 `{ runs, lastRunAt }`: how many reports this instance has generated. */
  @Get('runs')
  runs(): ReportRuns {
    return this.reports.summary();
  }
}
