// Jest global setup: a file where every test file records the server processes it starts.
const { mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'ndl-test-')), 'pids');
  writeFileSync(file, '');
  process.env.NDL_TEST_PID_FILE = file;
};
