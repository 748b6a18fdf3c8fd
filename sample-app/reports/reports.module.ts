import { Module } from '@nestjs/common';
import { ReportJob } from './report.job';
import { ReportService } from './report.service';
import { ReportsController } from './reports.controller';

/** The job only fires when the app imports `ScheduleModule.forRoot()` (see `AppModule`). */
@Module({
  controllers: [ReportsController],
  providers: [ReportJob, ReportService],
})
export class ReportsModule {}
