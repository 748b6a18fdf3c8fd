import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { LockService } from '../../lib';
import { useRedisServer } from '../support/use-redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Span {
  who: string;
  start: number;
  end: number;
}

/** Critical sections of one key that ran at the same time. */
function overlaps(spans: readonly Span[]): string[] {
  const found: string[] = [];
  for (const a of spans) {
    for (const b of spans) {
      if (a !== b && a.start < b.end && b.start < a.end && a.who < b.who) {
        found.push(`${a.who} & ${b.who}`);
      }
    }
  }
  return found;
}

/**
 * The holder starts unrelated work from inside its critical section (an event listener that
 * `emit()` calls synchronously, and a timer), and that work takes the same key.
 */
async function holderStartingSideWork(locks: LockService): Promise<Span[]> {
  const spans: Span[] = [];
  const section = async (who: string, ms: number): Promise<void> => {
    const start = performance.now();
    await sleep(ms);
    spans.push({ who, start, end: performance.now() });
  };
  const events = new EventEmitter();
  const sideWork: Promise<void>[] = [];
  events.on('order.placed', () => {
    sideWork.push(locks.using('account:1', () => section('listener', 30)));
  });
  await locks.using('account:1', async () => {
    events.emit('order.placed');
    sideWork.push(
      new Promise<void>((resolve, reject) => {
        setTimeout(() => {
          locks.using('account:1', () => section('timer', 30)).then(resolve, reject);
        }, 10);
      }),
    );
    await section('holder', 150);
  });
  await Promise.all(sideWork);
  return spans;
}

describe('reentrancy is scoped to what the user turns on', () => {
  const fixture = useRedisServer();
  let services: LockService[] = [];

  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    services = [];
  });

  const service = (reentrant?: boolean): LockService => {
    const s = new LockService({ redis: fixture.server.url, reentrant, waitTimeout: 5_000 });
    services.push(s);
    return s;
  };

  it('by default, an event listener and a timer started under the lock wait for the holder', async () => {
    const spans = await holderStartingSideWork(service());
    expect(spans.map((s) => s.who).sort()).toEqual(['holder', 'listener', 'timer']);
    expect(overlaps(spans)).toEqual([]);
  });

  it('with reentrant: true they count as the holder and run inside its hold (as the README warns)', async () => {
    const spans = await holderStartingSideWork(service(true));
    expect(overlaps(spans)).toEqual(
      expect.arrayContaining(['holder & listener', 'holder & timer']),
    );
  });

  it('by default a genuinely nested call waits for itself until its waitTimeout', async () => {
    const locks = service();
    const nested = await locks.using('account:2', () =>
      locks.tryAcquire('account:2').then((lock) => lock),
    );
    expect(nested).toBeNull();
  });

  it('by default a nested acquire of a held key waits until its waitTimeout, and a warning names the key', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const locks = service();
      const outcome = await locks.using('account:3', () =>
        locks.acquire('account:3', { waitTimeout: 200 }).then(
          () => 'acquired',
          (err: Error) => err.name,
        ),
      );
      expect(outcome).toBe('LockNotAcquiredError');
      expect(warn.mock.calls.flat().join(' ')).toMatch(/"account:3", which this call chain/);
    } finally {
      warn.mockRestore();
    }
  });
});
