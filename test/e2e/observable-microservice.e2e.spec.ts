import { Controller, INestMicroservice } from '@nestjs/common';
import {
  ClientProxy,
  ClientProxyFactory,
  MessagePattern,
  MicroserviceOptions,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { lastValueFrom, Observable } from 'rxjs';
import { DistributedLockModule, LockService, WithLock } from '../../lib';
import { freePort } from '../support/redis-server';
import { lockKeys, waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';
import { RacyCounter } from './support/racy-counter';

const counter = new RacyCounter();

@Controller()
class CounterHandlers {
  @MessagePattern('counter.locked')
  @WithLock('counter', { waitTimeout: 10_000 })
  locked(): Observable<number> {
    return counter.increment();
  }

  @MessagePattern('counter.busy')
  @WithLock('counter', { waitTimeout: 0 })
  busy(): Observable<number> {
    return counter.increment();
  }

  /** The control: the same Observable without a lock. */
  @MessagePattern('counter.unlocked')
  unlocked(): Observable<number> {
    return counter.increment();
  }
}

const fixture = useRedisServer({ flush: true });

describe('a @WithLock @MessagePattern handler returning an Observable (TCP)', () => {
  let app: INestMicroservice;
  let client: ClientProxy;
  let locks: LockService;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DistributedLockModule.forRoot({ redis: fixture.server.url })],
      controllers: [CounterHandlers],
    }).compile();
    const port = await freePort();
    app = moduleRef.createNestMicroservice<MicroserviceOptions>({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await app.listen();
    locks = app.get(LockService);
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  beforeEach(() => counter.reset());

  afterEach(() => {
    expect(locks.heldCount).toBe(0);
  });

  const send = (pattern: string): Promise<number> =>
    lastValueFrom(client.send<number>(`counter.${pattern}`, {}));

  it('runs two concurrent messages one after the other: no overlap, no update lost', async () => {
    const first = send('locked');
    await waitUntil(() => counter.active === 1, 'the first message’s work runs');
    const second = send('locked');
    await waitUntil(
      async () =>
        counter.active === 2 || (await fixture.redis.zcard(lockKeys('counter').queue)) > 0,
      'the second message waits in line',
    );
    counter.open();

    expect((await Promise.all([first, second])).sort()).toEqual([1, 2]);
    expect(counter.maxActive).toBe(1);
    expect(counter.value).toBe(2);
    expect(await locks.isLocked('counter')).toBe(false);
  });

  it('rejects a second message while the first one’s Observable runs, when it may not wait', async () => {
    const first = send('busy');
    await waitUntil(() => counter.active === 1, 'the first message’s work runs');
    let secondDone = false;
    const second = send('busy').finally(() => (secondDone = true));
    second.catch(() => undefined);
    // Before the fix the second message ran too, and then waited for the counter to open.
    await waitUntil(() => secondDone || counter.active === 2, 'the second message is answered');
    counter.open();

    await expect(first).resolves.toBe(1);
    // LockNotAcquiredError is an HttpException: Nest's RPC filter answers it as an unknown error.
    await expect(second).rejects.toMatchObject({ status: 'error' });
    expect(counter.maxActive).toBe(1);
    expect(counter.value).toBe(1);
  });

  it('control: without the lock the same two messages overlap and lose an update', async () => {
    const first = send('unlocked');
    const second = send('unlocked');
    await waitUntil(() => counter.active === 2, 'both messages’ work runs');
    counter.open();

    expect(await Promise.all([first, second])).toEqual([1, 1]);
    expect(counter.maxActive).toBe(2);
  });
});
