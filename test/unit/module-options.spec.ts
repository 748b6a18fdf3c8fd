import { Logger } from '@nestjs/common';
import { DistributedLockModuleOptions, LockService } from '../../lib';
import { MAX_TIMER_MS } from '../../lib/validation/number-options';

const services: LockService[] = [];

function start(options: unknown): LockService {
  const service = new LockService(options as DistributedLockModuleOptions);
  services.push(service);
  return service;
}

/** The message `new LockService(options)` throws; fails the test if it throws nothing. */
function bootError(options: unknown): string {
  try {
    start(options);
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as TypeError).message;
  }
  throw new Error('the service started');
}

beforeAll(() => Logger.overrideLogger(false));
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

describe('module options checked when the service starts', () => {
  it.each(['ttl', 'recheckInterval', 'commandTimeout', 'syncTimeout'])(
    'rejects a %s beyond the largest setTimeout delay, naming the limit',
    (name) => {
      expect(bootError({ [name]: 6.5e9 })).toBe(
        `DistributedLockModule option \`${name}\` must be an integer number of ms from 1 to ` +
          '2147483647 (the largest delay setTimeout supports, about 24.8 days), got 6500000000.',
      );
    },
  );

  it.each(['ttl', 'recheckInterval', 'commandTimeout', 'syncTimeout'])(
    'accepts a %s of exactly the largest setTimeout delay',
    (name) => {
      expect(() => start({ [name]: MAX_TIMER_MS })).not.toThrow();
    },
  );

  it('rejects ttl 1e21 at boot instead of failing each call as store unavailable', () => {
    expect(bootError({ ttl: 1e21 })).toMatch(/`ttl` must be an integer .*, got 1e\+21\.$/);
  });

  it('shows a string number as a string, so "1000" is not read as got 1000', () => {
    expect(bootError({ ttl: '1000' })).toMatch(/`ttl` .*, got "1000" \(a string\)\.$/);
    expect(bootError({ waitTimeout: '1000' })).toMatch(/, got "1000" \(a string\)\.$/);
  });

  it('shows NaN as NaN', () => {
    expect(bootError({ recheckInterval: NaN })).toMatch(/`recheckInterval` .*, got NaN\.$/);
    expect(bootError({ waitTimeout: NaN })).toMatch(/`waitTimeout` .*, got NaN\.$/);
  });

  it('rejects a waitTimeout beyond the largest setTimeout delay, and accepts Infinity and 0', () => {
    expect(bootError({ waitTimeout: MAX_TIMER_MS + 1 })).toBe(
      'DistributedLockModule option `waitTimeout` must be a number of ms from 0 to 2147483647 ' +
        '(the largest delay setTimeout supports, about 24.8 days), or Infinity, got 2147483648.',
    );
    expect(bootError({ waitTimeout: -1 })).toMatch(/got -1\.$/);
    expect(() => start({ waitTimeout: Infinity })).not.toThrow();
    expect(() => start({ waitTimeout: 0 })).not.toThrow();
  });

  it('rejects a fractional or zero ttl', () => {
    expect(bootError({ ttl: 1.5 })).toMatch(/`ttl` must be an integer .*, got 1\.5\.$/);
    expect(bootError({ ttl: 0 })).toMatch(/`ttl` must be an integer .*, got 0\.$/);
  });

  it('checks the types of syncReplicas and evictionPolicy', () => {
    expect(bootError({ syncReplicas: -1 })).toBe(
      'DistributedLockModule option `syncReplicas` must be an integer >= 0, got -1.',
    );
    expect(bootError({ syncReplicas: '1' })).toMatch(/got "1" \(a string\)\.$/);
    expect(() => start({ syncReplicas: 0 })).not.toThrow();
    expect(bootError({ evictionPolicy: 'warning' })).toBe(
      "DistributedLockModule option `evictionPolicy` must be 'warn', 'throw' or 'ignore', " +
        'got "warning" (a string).',
    );
    expect(() => start({ evictionPolicy: 'ignore' })).not.toThrow();
  });

  it('shows the type of a non-boolean autoExtend or reentrant', () => {
    expect(bootError({ autoExtend: 'false' })).toBe(
      'DistributedLockModule option `autoExtend` must be true or false, got "false" (a string).',
    );
    expect(bootError({ reentrant: 0 })).toMatch(/`reentrant` must be true or false, got 0\.$/);
  });

  it('rejects a keyPrefix with { or }, which would break Redis Cluster hash tags', () => {
    expect(bootError({ keyPrefix: 'app:{tenant}:' })).toBe(
      'DistributedLockModule option `keyPrefix` must not contain { or } (they would break Redis ' +
        'Cluster hash tags), got "app:{tenant}:" (a string).',
    );
    expect(bootError({ keyPrefix: 'app}' })).toMatch(/must not contain \{ or \}/);
    expect(bootError({ keyPrefix: 5 })).toMatch(/`keyPrefix` must be a string, got 5\.$/);
  });

  it('names an unknown option and the valid option it most likely meant', () => {
    expect(bootError({ waitTimout: 5000 })).toBe(
      'Unknown DistributedLockModule option `waitTimout`: did you mean `waitTimeout`? Valid ' +
        'options: redis, redlock, etcd, postgres, store, keyPrefix, ttl, waitTimeout, autoExtend, ' +
        'recheckInterval, reentrant, ' +
        'commandTimeout, syncReplicas, syncTimeout, evictionPolicy, idempotency.',
    );
    expect(bootError({ TTL: 5000 })).toMatch(/`TTL`: did you mean `ttl`\?/);
    expect(bootError({ prefix: 'x:' })).toMatch(/`prefix`: did you mean `keyPrefix`\?/);
  });

  it('lists the valid options when no name is close to an unknown one', () => {
    expect(bootError({ cluster: true })).toMatch(
      /^Unknown DistributedLockModule option `cluster`\. Valid options: redis, /,
    );
  });

  it('rejects lock-only options (mode, signal) among module options', () => {
    expect(bootError({ mode: 'read' })).toMatch(/^Unknown DistributedLockModule option `mode`/);
    expect(bootError({ signal: new AbortController().signal })).toMatch(/option `signal`/);
  });

  it('accepts isGlobal, which a forRootAsync factory may return with the options', () => {
    expect(() => start({ isGlobal: true, ttl: 1000 })).not.toThrow();
  });

  it('rejects options that are not an object', () => {
    expect(bootError([])).toBe('DistributedLockModule options must be an object, got an array.');
    expect(bootError('redis://localhost')).toMatch(
      /must be an object, got "redis:\/\/localhost" \(a string\)/,
    );
  });
});
