// A child process of the leader-election tests: campaigns for one leadership with the built
// package and reports every change of it. A line on stdin (Worker.go()) makes it resign, close
// and exit. One JSON argument: { url, name, lease, recheckInterval }.
// Prints {"event":"ready"}, then {"event":"elected"|"deposed", at, fencingToken, reason} as they
// happen, and {"event":"result"} after it resigned.
require('@nestjs/common').Logger.overrideLogger(false);
const { LeaderElectionService, LockService } = require('../../dist');

const send = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');

async function main() {
  const config = JSON.parse(process.argv[2]);
  const locks = new LockService({
    redis: config.url,
    ttl: config.lease,
    recheckInterval: config.recheckInterval,
  });
  const elections = new LeaderElectionService(locks);
  const election = elections.election(config.name);
  const report = (change) =>
    send(change.leader ? 'elected' : 'deposed', {
      at: Date.now(),
      fencingToken: change.fencingToken,
      reason: change.reason,
    });
  election.onElected(report);
  election.onDeposed(report);
  election.start();
  send('ready');
  process.stdin.once('data', async () => {
    await elections.close();
    await locks.close();
    process.stdin.pause();
    send('result', { heldCount: locks.heldCount });
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
