import { LockService, LockStoreUnavailableError } from '../../lib';
import { SentinelSetup, startSentinelSetup } from '../support/redis-sentinel';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('behind Redis Sentinel (master, replica, sentinel)', () => {
  let setup: SentinelSetup;
  let locks: LockService;

  beforeAll(async () => {
    setup = await startSentinelSetup();
    locks = new LockService({
      redis: {
        sentinels: [{ host: '127.0.0.1', port: setup.sentinelPort }],
        name: setup.masterName,
      },
    });
  });

  afterAll(async () => {
    await locks?.onApplicationShutdown();
    await setup?.stop();
  });

  it('locks through the master that sentinel names', async () => {
    const lock = await locks.acquire('order:1');
    await expect(locks.tryAcquire('order:1')).resolves.toBeNull();
    expect(await lock.release()).toBe(true);
  });

  it('fails closed while the master is down and works again on the promoted replica', async () => {
    await setup.master.stop(true);
    // Until sentinel promotes the replica and the client reconnects, calls fail with 503.
    let outcome: unknown;
    const deadline = Date.now() + 30_000;
    let sawUnavailable = false;
    for (;;) {
      try {
        const lock = await locks.acquire('after-failover', { waitTimeout: 0 });
        outcome = await lock.release();
        break;
      } catch (err) {
        if (!(err instanceof LockStoreUnavailableError)) throw err;
        sawUnavailable = true;
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
    expect(sawUnavailable).toBe(true);
    expect(outcome).toBe(true);
  });
});
