// Jest global teardown: stops any server process a test file started and did not stop.
const { readFileSync, rmSync } = require('node:fs');
const { dirname } = require('node:path');

module.exports = async () => {
  const file = process.env.NDL_TEST_PID_FILE;
  if (!file) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const pid = Number(line);
    if (!pid) continue;
    // A pid may have been reused since: only stop it while it is still a Redis, PostgreSQL or etcd
    // server (a PostgreSQL postmaster's children exit when it does).
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!command.includes('redis-') && !command.includes('postgres') && !command.includes('etcd'))
      continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dirname(file), { recursive: true, force: true });
};
