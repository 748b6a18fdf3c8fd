import { Injectable, INestApplicationContext, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  defer,
  finalize,
  from,
  lastValueFrom,
  map,
  mergeMap,
  Observable,
  Subject,
  Subscription,
  take,
  throwError,
  timer,
} from 'rxjs';
import {
  DistributedLockModule,
  Lock,
  LockNotAcquiredError,
  LockService,
  WithLock,
  WithSemaphore,
} from '../../lib';
import { waitUntil } from '../support/spawn-worker';
import { useRedisServer } from '../support/use-redis-server';

/** The module's ttl: also how long a returned Observable may wait for its subscription. */
const TTL = 400;

/** Work that starts when subscribed and finishes when `gate` emits, logging both. */
class Work {
  readonly gate = new Subject<void>();
  readonly log: string[] = [];

  succeeding(result = 'done'): Observable<string> {
    return defer(() => {
      this.log.push('start');
      return this.gate.pipe(
        take(1),
        map(() => result),
        finalize(() => this.log.push('end')),
      );
    });
  }

  failing(error: Error): Observable<string> {
    return defer(() => {
      this.log.push('start');
      return this.gate.pipe(
        take(1),
        mergeMap(() => throwError(() => error)),
      );
    });
  }

  get started(): boolean {
    return this.log.includes('start');
  }
}

@Injectable()
class Streams {
  constructor(private readonly locks: LockService) {}

  @WithLock('stream:<id>', { waitTimeout: 0 })
  async run(id: string, work: Observable<string>): Promise<Observable<string>> {
    void id;
    return work;
  }

  @WithSemaphore('permits:<id>', 1, { waitTimeout: 0 })
  async permit(id: string, work: Observable<string>): Promise<Observable<string>> {
    void id;
    return work;
  }

  /** Its work calls `inner` on the same key once subscribed, from a timer. */
  @WithLock('scope:<id>', { waitTimeout: 0 })
  async outer(id: string): Promise<Observable<{ outer?: number; inner?: number }>> {
    const outer = this.locks.current(`scope:${id}`)?.fencingToken;
    return timer(20).pipe(
      mergeMap(() => from(this.inner(id))),
      map((inner) => ({ outer, inner })),
    );
  }

  @WithLock('scope:<id>', { waitTimeout: 0 })
  async inner(id: string): Promise<number | undefined> {
    return this.locks.current(`scope:${id}`)?.fencingToken;
  }
}

const fixture = useRedisServer({ flush: true });

describe('an Observable returned under a lock', () => {
  let app: INestApplicationContext;
  let locks: LockService;
  let streams: Streams;
  let work: Work;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        DistributedLockModule.forRoot({ redis: fixture.server.url, ttl: TTL, reentrant: true }),
      ],
      providers: [Streams],
    }).compile();
    app = await moduleRef.init();
    locks = app.get(LockService);
    streams = app.get(Streams);
    work = new Work();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    expect(locks.heldCount).toBe(0);
    await app.close();
  });

  it('holds the lock until the Observable completes, and releases it before passing the completion on', async () => {
    const stream = await streams.run('a', work.succeeding());
    expect(await locks.isLocked('stream:a')).toBe(true);

    const done = lastValueFrom(stream).then(async (value) => ({
      value,
      lockedAtCompletion: await locks.isLocked('stream:a'),
    }));
    await waitUntil(() => work.started, 'the work started');
    expect(await locks.isLocked('stream:a')).toBe(true);
    await expect(streams.run('a', work.succeeding())).rejects.toBeInstanceOf(LockNotAcquiredError);

    work.gate.next();
    await expect(done).resolves.toEqual({ value: 'done', lockedAtCompletion: false });
  });

  it('releases the lock when the Observable errors, and passes the error on', async () => {
    const boom = new Error('boom');
    const stream = await streams.run('b', work.failing(boom));
    const failed = lastValueFrom(stream);
    await waitUntil(() => work.started, 'the work started');
    expect(await locks.isLocked('stream:b')).toBe(true);

    work.gate.next();
    await expect(failed).rejects.toBe(boom);
    expect(await locks.isLocked('stream:b')).toBe(false);
  });

  it('releases the lock when the subscriber unsubscribes, and tears the work down', async () => {
    const stream = await streams.run('c', work.succeeding());
    const subscription = stream.subscribe();
    await waitUntil(() => work.started, 'the work started');
    expect(await locks.isLocked('stream:c')).toBe(true);

    subscription.unsubscribe();
    expect(work.log).toEqual(['start', 'end']);
    await waitUntil(async () => !(await locks.isLocked('stream:c')), 'the lock is released');
  });

  it.each(['complete', 'error', 'unsubscribe', 'unsubscribe while releasing', 'never subscribe'])(
    'releases the lock exactly once on %s',
    async (path) => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      let release: jest.SpyInstance | undefined;
      const source = path === 'error' ? work.failing(new Error('boom')) : work.succeeding();
      const stream = await locks.using('once', (lock: Lock) => {
        release = jest.spyOn(lock, 'release');
        return source;
      });
      if (path !== 'never subscribe') {
        let subscription: Subscription | undefined;
        const settled = new Promise<void>((resolve) => {
          subscription = stream.subscribe({ complete: resolve, error: () => resolve() });
        });
        await waitUntil(() => work.started, 'the work started');
        if (path === 'unsubscribe') {
          subscription?.unsubscribe();
        } else {
          // The source completes at once; the release is then under way when it unsubscribes.
          work.gate.next();
          if (path === 'unsubscribe while releasing') subscription?.unsubscribe();
          else await settled;
        }
      }
      await waitUntil(async () => !(await locks.isLocked('once')), 'the lock is released');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(release).toHaveBeenCalledTimes(1);
    },
  );

  it('releases the lock with a warning when the Observable is not subscribed within the ttl; a late subscription errors without running the work', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const returnedAt = Date.now();
    const stream = await streams.run('late', work.succeeding());
    expect(await locks.isLocked('stream:late')).toBe(true);

    await waitUntil(async () => !(await locks.isLocked('stream:late')), 'the lock is released');
    expect(Date.now() - returnedAt).toBeGreaterThanOrEqual(TTL - 50);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining(`"stream:late" was not subscribed within ${TTL} ms`),
    );

    await expect(lastValueFrom(stream)).rejects.toThrow(
      /A locked Observable was subscribed after its lock was released/,
    );
    expect(work.started).toBe(false);
  });

  it('errors a second subscription without running the work again, while the first keeps the lock', async () => {
    const stream = await streams.run('twice', work.succeeding());
    const first = lastValueFrom(stream);
    await waitUntil(() => work.started, 'the work started');

    await expect(lastValueFrom(stream)).rejects.toThrow(/A locked Observable was subscribed again/);
    expect(work.log).toEqual(['start']);
    expect(await locks.isLocked('stream:twice')).toBe(true);

    work.gate.next();
    await expect(first).resolves.toBe('done');
    await expect(lastValueFrom(stream)).rejects.toThrow(/A locked Observable was subscribed again/);
    expect(work.log).toEqual(['start', 'end']);
  });

  it('renews the lock while an Observable runs three times its ttl: another service cannot take it', async () => {
    const other = new LockService({ redis: fixture.server.url });
    try {
      const stream = await streams.run('long', timer(TTL * 3).pipe(map(() => 'late')));
      const done = lastValueFrom(stream);
      const until = Date.now() + TTL * 2.5;
      while (Date.now() < until) {
        expect(await other.tryAcquire('stream:long')).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await expect(done).resolves.toBe('late');
      const next = await other.tryAcquire('stream:long');
      expect(next).not.toBeNull();
      await next?.release();
    } finally {
      await other.close();
    }
  });

  it('subscribes inside the lock’s scope: a nested locked call from the work re-enters the lock', async () => {
    const tokens = await lastValueFrom(await streams.outer('n'));
    expect(tokens.outer).toEqual(expect.any(Number));
    expect(tokens.inner).toBe(tokens.outer);
    expect(await locks.isLocked('scope:n')).toBe(false);
  });

  it('@WithSemaphore holds its permit until the Observable completes', async () => {
    const done = lastValueFrom(await streams.permit('p', work.succeeding()));
    await waitUntil(() => work.started, 'the work started');
    await expect(streams.permit('p', work.succeeding())).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );

    work.gate.next();
    await expect(done).resolves.toBe('done');
    const again = new Work();
    const next = lastValueFrom(await streams.permit('p', again.succeeding('again')));
    again.gate.next();
    await expect(next).resolves.toBe('again');
  });

  it('LockService.using holds the lock until the Observable completes', async () => {
    const done = lastValueFrom(await locks.using('using', () => work.succeeding()));
    await waitUntil(() => work.started, 'the work started');
    expect(await locks.tryAcquire('using')).toBeNull();

    work.gate.next();
    await expect(done).resolves.toBe('done');
    expect(await locks.isLocked('using')).toBe(false);
  });

  it('Semaphore.using holds its permit until the Observable completes', async () => {
    const semaphore = locks.semaphore('sem', 1);
    const done = lastValueFrom(await semaphore.using(() => work.succeeding()));
    await waitUntil(() => work.started, 'the work started');
    expect(await semaphore.tryAcquire()).toBeNull();

    work.gate.next();
    await expect(done).resolves.toBe('done');
    const permit = await semaphore.tryAcquire();
    expect(permit).not.toBeNull();
    await permit?.release();
  });
});
