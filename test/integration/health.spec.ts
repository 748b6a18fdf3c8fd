import { Controller, Get, INestApplication } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TerminusModule,
} from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import request from 'supertest';
import { DistributedLockModule, LockService } from '../../lib';
import { LockHealthIndicator } from '../../lib/health';
import { ensureBuilt } from '../support/build-once';
import { connectCluster, RedisCluster, startRedisCluster } from '../support/redis-cluster';
import { startRedisServer } from '../support/redis-server';
import { SentinelSetup, startSentinelSetup } from '../support/redis-sentinel';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

/** The README's health controller. */
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly lock: LockHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.lock.isHealthy('lock')]);
  }
}

/** The indicator on its own, over `locks`. */
function indicatorFor(locks: LockService): LockHealthIndicator {
  return new LockHealthIndicator(locks, new HealthIndicatorService());
}

const fixture = useRedisServer();

describe('LockHealthIndicator', () => {
  it('is up on a single Redis, with the round trip of a PING, and writes nothing', async () => {
    const locks = new LockService({ redis: fixture.server.url });
    const monitor = await fixture.redis.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args.join(' ')));
    // What MONITOR shows between two markers of the test's own client.
    const mark = async (text: string) => {
      await fixture.redis.echo(text);
      await waitUntil(() => commands.includes(`echo ${text}`), `MONITOR shows ${text}`);
    };
    try {
      await locks.isLocked('warm-up');
      await mark('start');
      const result = await indicatorFor(locks).isHealthy();
      await mark('end');
      expect(result).toEqual({
        lock: {
          status: 'up',
          reachable: true,
          topology: 'single',
          roundTripMs: expect.any(Number),
          heldLocks: 0,
        },
      });
      const between = commands.slice(commands.indexOf('echo start') + 1, -1);
      expect(between.map((c) => c.toLowerCase())).toEqual(['ping']);
    } finally {
      monitor.disconnect();
      await locks.close();
    }
  });

  it('reports the locks held and takes another key', async () => {
    const locks = new LockService({ redis: fixture.server.url });
    try {
      const lock = await locks.acquire('held');
      await expect(indicatorFor(locks).isHealthy('locks')).resolves.toEqual({
        locks: expect.objectContaining({ status: 'up', heldLocks: 1 }),
      });
      await lock.release();
    } finally {
      await locks.close();
    }
  });

  it('is down, at once and without throwing, when Redis is stopped', async () => {
    const server = await startRedisServer();
    const redis = { host: '127.0.0.1', port: server.port, retryStrategy: () => null };
    const locks = new LockService({ redis, commandTimeout: 500 });
    try {
      await locks.isLocked('warm-up');
      await server.stop();
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const result = await indicatorFor(locks).isHealthy();
      expect(Date.now() - started).toBeLessThan(500);
      expect(result).toEqual({
        lock: { status: 'down', reachable: false, message: expect.any(String) },
      });
    } finally {
      await locks.close();
      await server.stop();
    }
  });

  it('is down when Redis does not answer within commandTimeout', async () => {
    const server = await startRedisServer();
    const locks = new LockService({ redis: server.url, commandTimeout: 150 });
    const admin = new Redis(server.url);
    try {
      await locks.isLocked('warm-up');
      // Every client's commands wait while the server is paused: the PING gets no answer.
      await admin.client('PAUSE', '500', 'ALL');
      const started = Date.now();
      const result = await indicatorFor(locks).isHealthy();
      expect(Date.now() - started).toBeLessThan(450);
      expect(result).toEqual({
        lock: { status: 'down', reachable: false, message: expect.stringMatching(/150 ms/) },
      });
    } finally {
      admin.disconnect();
      await locks.close();
      await server.stop();
    }
  });

  it('is up on the memory store', async () => {
    const locks = new LockService();
    try {
      await expect(indicatorFor(locks).isHealthy()).resolves.toEqual({
        lock: { status: 'up', reachable: true, topology: 'memory', roundTripMs: 0, heldLocks: 0 },
      });
    } finally {
      await locks.close();
    }
  });

  describe('on a Redis Cluster', () => {
    let cluster: RedisCluster;

    beforeAll(async () => {
      cluster = await startRedisCluster();
    });

    afterAll(async () => {
      await cluster?.stop();
    });

    it('is up with topology cluster after a PING to every master', async () => {
      const client = await connectCluster(cluster);
      const locks = new LockService({ redis: client });
      try {
        const pings = client.nodes('master').map((node) => jest.spyOn(node, 'ping'));
        expect(pings).toHaveLength(3);
        await expect(indicatorFor(locks).isHealthy()).resolves.toEqual({
          lock: expect.objectContaining({ status: 'up', topology: 'cluster' }),
        });
        for (const ping of pings) expect(ping).toHaveBeenCalledTimes(1);
      } finally {
        await locks.close();
        client.disconnect();
      }
    });
  });

  describe('behind Sentinel', () => {
    let setup: SentinelSetup;

    beforeAll(async () => {
      setup = await startSentinelSetup();
    });

    afterAll(async () => {
      await setup?.stop();
    });

    it('is up with topology sentinel', async () => {
      const locks = new LockService({
        redis: { sentinels: [{ host: '127.0.0.1', port: setup.sentinelPort }], name: 'locks' },
      });
      try {
        await expect(indicatorFor(locks).isHealthy()).resolves.toEqual({
          lock: expect.objectContaining({ status: 'up', topology: 'sentinel' }),
        });
      } finally {
        await locks.close();
      }
    });
  });
});

describe('the health endpoint of the README', () => {
  let app: INestApplication;
  let server: Awaited<ReturnType<typeof startRedisServer>>;

  beforeAll(async () => {
    server = await startRedisServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        DistributedLockModule.forRoot({
          redis: { host: '127.0.0.1', port: server.port, retryStrategy: () => null },
        }),
      ],
      controllers: [HealthController],
      providers: [LockHealthIndicator],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('answers 200 with the lock store up, then 503 once Redis is down', async () => {
    const up = await request(app.getHttpServer()).get('/health');
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      status: 'ok',
      info: { lock: { status: 'up', reachable: true, topology: 'single' } },
    });

    await server.stop();
    await new Promise((r) => setTimeout(r, 50));
    const down = await request(app.getHttpServer()).get('/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'error',
      error: { lock: { status: 'down', reachable: false } },
    });
  });
});

describe('the package entry points', () => {
  it('the main entry never loads @nestjs/terminus, and works without it; /health loads it', async () => {
    ensureBuilt();
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      // As if @nestjs/terminus were not installed.
      Module._resolveFilename = function (request, ...rest) {
        if (request === '@nestjs/terminus') throw new Error('Cannot find module @nestjs/terminus');
        return resolve.call(this, request, ...rest);
      };
      const lib = require('nestjs-distributed-lock');
      let health;
      try { require('nestjs-distributed-lock/health'); } catch (err) { health = err.message; }
      Module._resolveFilename = resolve;
      const { LockHealthIndicator } = require('nestjs-distributed-lock/health');
      console.log(JSON.stringify({
        main: typeof lib.LockService,
        events: typeof lib.LockEvents,
        healthInMain: 'LockHealthIndicator' in lib,
        healthWithout: health,
        health: typeof LockHealthIndicator,
        file: require.resolve('nestjs-distributed-lock/health'),
      }));
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({
      main: 'function',
      events: 'function',
      healthInMain: false,
      healthWithout: 'Cannot find module @nestjs/terminus',
      health: 'function',
      file: join(root, 'dist', 'health', 'index.js'),
    });
  });
});
