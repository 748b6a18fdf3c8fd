#!/usr/bin/env node
// Makes sure redis-server, redis-cli and redis-sentinel exist before the suite starts: installs
// Debian's packages when running as root, otherwise stops with a one-line instruction.
const { execSync } = require('node:child_process');

function has(cmd) {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
}

const missing = ['redis-server', 'redis-cli', 'redis-sentinel'].filter((cmd) => !has(cmd));
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(
    `${missing.join(', ')} not found: install Redis (e.g. "sudo apt-get install -y redis-server redis-tools redis-sentinel") and run npm test again.`,
  );
  process.exit(1);
}
console.log(`${missing.join(', ')} not found; installing Debian's Redis packages...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execSync('apt-get update -qq', { stdio: 'inherit', env });
execSync('apt-get install -y -qq redis-server redis-tools redis-sentinel', {
  stdio: 'inherit',
  env,
});
