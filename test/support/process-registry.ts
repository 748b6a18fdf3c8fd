import { appendFileSync } from 'node:fs';

/**
 * Records the pid of a server process the suite started, so that the global teardown can stop
 * whatever a failed or interrupted test file left running.
 */
export function registerTestProcess(pid: number | undefined): void {
  const file = process.env.NDL_TEST_PID_FILE;
  if (file && pid) appendFileSync(file, `${pid}\n`);
}
