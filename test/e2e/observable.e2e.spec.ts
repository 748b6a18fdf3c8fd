import {
  CallHandler,
  Controller,
  ExecutionContext,
  INestApplication,
  Injectable,
  NestInterceptor,
  Post,
  UseInterceptors,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import type { Observable } from 'rxjs';
import request, { Response } from 'supertest';
import { DistributedLockModule, LockService, WithLock } from '../../lib';
import { lockKeys, waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { RacyCounter } from './support/racy-counter';

const counter = new RacyCounter();

/** Nest subscribes to the handler's Observable through its interceptor chain. */
@Injectable()
class PassThroughInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Controller('counter')
class CounterController {
  @Post('locked')
  @WithLock('counter', { waitTimeout: 0 })
  locked(): Observable<number> {
    return counter.increment();
  }

  @Post('intercepted')
  @UseInterceptors(PassThroughInterceptor)
  @WithLock('counter', { waitTimeout: 0 })
  intercepted(): Observable<number> {
    return counter.increment();
  }

  @Post('queued')
  @WithLock('counter', { waitTimeout: 10_000 })
  queued(): Observable<number> {
    return counter.increment();
  }

  /** The control: the same Observable without a lock. */
  @Post('unlocked')
  unlocked(): Observable<number> {
    return counter.increment();
  }
}

const fixture = useRedisServer({ flush: true });

describe.each([
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
])('a @WithLock handler returning an Observable (%s)', (_name, adapter) => {
  let app: INestApplication;
  let url: string;
  let locks: LockService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot({ redis: fixture.server.url })],
      controllers: [CounterController],
    }).compile();
    app = moduleRef.createNestApplication(adapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
    locks = app.get(LockService);
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => counter.reset());

  afterEach(() => {
    expect(locks.heldCount).toBe(0);
  });

  /** Sends a request; `.then` sends it, and it stays in flight until the counter is opened. */
  const post = (path: string): Promise<Response> =>
    request(url)
      .post(`/counter/${path}`)
      .then((res) => res);

  it.each(['locked', 'intercepted'])(
    'answers 409 to a second request while the first one’s Observable runs: no overlap (%s)',
    async (route) => {
      const first = post(route);
      await waitUntil(() => counter.active === 1, 'the first request’s work runs');
      let secondDone = false;
      const second = post(route).finally(() => (secondDone = true));
      // Before the fix the second request ran too, and then waited for the counter to open.
      await waitUntil(() => secondDone || counter.active === 2, 'the second request is answered');
      counter.open();

      const statuses = (await Promise.all([first, second])).map((res) => res.status);
      expect(statuses).toEqual([201, 409]);
      expect(counter.maxActive).toBe(1);
      expect(counter.value).toBe(1);
      expect(await locks.isLocked('counter')).toBe(false);
    },
  );

  it('runs two requests one after the other when the second may wait: no update is lost', async () => {
    const first = post('queued');
    await waitUntil(() => counter.active === 1, 'the first request’s work runs');
    const second = post('queued');
    await waitUntil(
      async () =>
        counter.active === 2 || (await fixture.redis.zcard(lockKeys('counter').queue)) > 0,
      'the second request waits in line',
    );
    counter.open();

    const responses = await Promise.all([first, second]);
    expect(responses.map((res) => res.status)).toEqual([201, 201]);
    expect(responses.map((res) => Number(res.text)).sort()).toEqual([1, 2]);
    expect(counter.maxActive).toBe(1);
    expect(counter.value).toBe(2);
  });

  it('control: without the lock the same two requests overlap and lose an update', async () => {
    const first = post('unlocked');
    const second = post('unlocked');
    await waitUntil(() => counter.active === 2, 'both requests’ work runs');
    counter.open();

    const responses = await Promise.all([first, second]);
    expect(responses.map((res) => res.status)).toEqual([201, 201]);
    expect(counter.maxActive).toBe(2);
    expect(counter.value).toBe(1);
  });

  it.each(['locked', 'intercepted'])(
    'releases the lock when the client goes away while the Observable runs (%s)',
    async (route) => {
      const req = httpRequest(`${url}/counter/${route}`, { method: 'POST' });
      req.on('error', () => undefined);
      req.end();
      await waitUntil(() => counter.active === 1, 'the request’s work runs');
      expect(await locks.isLocked('counter')).toBe(true);

      req.destroy();
      await waitUntil(() => counter.active === 0, 'the work is torn down');
      await waitUntil(async () => !(await locks.isLocked('counter')), 'the lock is released');
      expect(counter.value).toBe(0);
    },
  );
});
