import { Redis } from 'ioredis';
import {
  IdempotencyService,
  LockLostError,
  LockService,
  LockStoreUnavailableError,
} from '../../lib';
import { RedisServer, startRedisServer } from '../support/redis-server';
import { MARGIN_MS, sleep } from './support/fault-harness';

const COMMAND_TIMEOUT = 300;

async function serverPid(redis: Redis): Promise<number> {
  const info = await redis.info('server');
  return Number(/process_id:(\d+)/.exec(info)![1]);
}

describe('idempotent calls while Redis stalls (SIGSTOP)', () => {
  let server: RedisServer;
  let redis: Redis;
  let pid: number;
  let locks: LockService;
  let idempotency: IdempotencyService;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
    redis.on('error', () => undefined);
    pid = await serverPid(redis);
  });
  beforeEach(() => {
    locks = new LockService({ redis: server.url, commandTimeout: COMMAND_TIMEOUT });
    idempotency = new IdempotencyService(locks);
  });
  afterEach(async () => {
    process.kill(pid, 'SIGCONT');
    await locks.close();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const stall = (ms: number): Promise<void> => {
    process.kill(pid, 'SIGSTOP');
    return sleep(ms).then(() => void process.kill(pid, 'SIGCONT'));
  };

  it('a claim that Redis does not answer fails closed within the command timeout: nothing runs', async () => {
    const resumed = stall(1_500);
    const started = Date.now();
    let ran = false;
    const err = await idempotency
      .run('stalled-claim', { a: 1 }, () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(LockStoreUnavailableError);
    expect(ran).toBe(false);
    expect(took).toBeLessThanOrEqual(COMMAND_TIMEOUT + MARGIN_MS);
    await resumed;
  });

  it('a completion that Redis does not answer returns within the command timeout, and is stored once Redis is back', async () => {
    let runs = 0;
    let resumed: Promise<void> = Promise.resolve();
    let returnedAt = 0;
    const first = await idempotency.run(
      'stalled-completion',
      { a: 1 },
      () => {
        runs++;
        resumed = stall(1_500);
        returnedAt = Date.now();
        return { order: runs };
      },
      { lease: 10_000 },
    );
    // The work ran: its value is returned, bounded by the command timeout, not by Redis.
    expect(first).toEqual({ value: { order: 1 }, replayed: false });
    expect(Date.now() - returnedAt).toBeLessThanOrEqual(COMMAND_TIMEOUT + MARGIN_MS);
    await resumed;
    // The completion is repeated in the background while the claim lasts: a retry replays,
    // handed the claim soon after Redis is back, not at the end of the 10 s lease.
    const retriedAt = Date.now();
    let again = await idempotency.run('stalled-completion', { a: 1 }, () => ({ order: ++runs }), {
      onInFlight: 'wait',
    });
    expect(again).toEqual({ value: { order: 1 }, replayed: true });
    expect(Date.now() - retriedAt).toBeLessThan(3_000);
    again = await idempotency.run('stalled-completion', { a: 1 }, () => ({ order: ++runs }));
    expect(again.replayed).toBe(true);
    expect(runs).toBe(1);
  });

  it('a claim whose lease Redis stalls past is lost by its deadline; its outcome is not stored and a retry runs with a higher fencing token', async () => {
    const LEASE = 800;
    let firstFence = 0;
    let lostAt = 0;
    let validUntil = 0;
    let resumed: Promise<void> = Promise.resolve();
    const first = await idempotency.run(
      'stalled-lease',
      { a: 1 },
      async () => {
        const claim = idempotency.current()!;
        firstFence = claim.fencingToken;
        validUntil = claim.validUntil;
        const lost = new Promise<void>((resolve) =>
          claim.signal.addEventListener('abort', () => {
            lostAt = Date.now();
            resolve();
          }),
        );
        resumed = stall(2_000);
        await lost;
        expect(claim.signal.reason).toBeInstanceOf(LockLostError);
        return 'late';
      },
      { lease: LEASE },
    );
    expect(first.value).toBe('late');
    expect(lostAt).toBeLessThanOrEqual(validUntil + MARGIN_MS);
    await resumed;
    await sleep(LEASE);
    let retryFence = 0;
    const retry = await idempotency.run('stalled-lease', { a: 1 }, () => {
      retryFence = idempotency.current()!.fencingToken;
      return 'again';
    });
    expect(retry).toEqual({ value: 'again', replayed: false });
    expect(retryFence).toBeGreaterThan(firstFence);
  });
});
