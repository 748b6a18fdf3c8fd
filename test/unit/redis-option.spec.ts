import { Logger } from '@nestjs/common';
import { LockService } from '../../lib';
import type { DistributedLockModuleOptions } from '../../lib';
import { assertRedisOption } from '../../lib/validation/redis-option';

type RedisOption = DistributedLockModuleOptions['redis'];

/** The message `new LockService({ redis })` throws; fails the test if the service starts. */
function bootError(redis: unknown): string {
  let service: LockService;
  try {
    service = new LockService({ redis: redis as RedisOption });
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as TypeError).message;
  }
  void service.close();
  throw new Error('the service started');
}

beforeAll(() => Logger.overrideLogger(false));

describe('the redis module option, checked at boot without connecting', () => {
  it.each([
    'redis://localhost:6379',
    'redis://localhost',
    'rediss://user:secret@cache.example.com:6380/2',
    'redis://:secret@10.0.0.1:6379/0?family=4',
    'redis://[::1]:6379',
    'unix:///var/run/redis.sock',
    'unix:/var/run/redis.sock?db=2',
    '/var/run/redis.sock',
  ])('accepts %s', (url) => {
    expect(() => assertRedisOption(url)).not.toThrow();
  });

  it('asks for a scheme on host:port', () => {
    expect(bootError('localhost:6379')).toBe(
      'DistributedLockModule option `redis` must be a redis://, rediss:// or unix: URL (or an ' +
        'absolute unix socket path), got "localhost:6379" (a string): write ' +
        'redis://localhost:6379.',
    );
  });

  it('rejects other schemes, and upper-case ones that would lose TLS', () => {
    expect(bootError('http://localhost:6379')).toMatch(
      /: the http:\/\/ scheme is not a Redis URL\.$/,
    );
    expect(bootError('REDISS://h:6380')).toMatch(
      /: write the scheme in lower case: rediss:\/\/\.$/,
    );
    expect(bootError('')).toMatch(/got "" \(a string\): it is empty\.$/);
  });

  it('rejects a port outside 1..65535 in a URL', () => {
    expect(bootError('redis://localhost:70000')).toBe(
      'DistributedLockModule option `redis` URL "redis://localhost:70000" has port "70000"; a ' +
        'port is 1 to 65535.',
    );
    expect(bootError('redis://localhost:0')).toMatch(/has port "0"/);
    expect(bootError('redis://localhost:abc')).toMatch(/has port "abc"/);
  });

  it('rejects a URL path that is not a database number', () => {
    expect(bootError('redis://localhost:6379/cache')).toMatch(
      /has path "\/cache"; the only path a Redis URL takes is the database number/,
    );
  });

  it('rejects a URL without a host, and a unix URL with one', () => {
    expect(bootError('redis://:6379')).toMatch(/URL "redis:\/\/:6379" names no host\.$/);
    expect(bootError('unix://localhost/var/run/redis.sock')).toMatch(
      /must name an absolute socket path: unix:\/\/\/path\/to\/redis\.sock\.$/,
    );
  });

  it('never shows the password of a URL', () => {
    const message = bootError('redis://admin:hunter2@localhost:70000');
    expect(message).toContain('"redis://***@localhost:70000"');
    expect(message).not.toContain('hunter2');
    expect(bootError('admin:hunter2@localhost:6379')).not.toContain('hunter2');
  });

  it('names the option of ioredis options with the wrong type', () => {
    expect(bootError({ host: 6379 })).toBe(
      'DistributedLockModule option `redis` option `host` must be a string, got 6379.',
    );
    expect(bootError({ port: '6379' })).toBe(
      'DistributedLockModule option `redis` option `port` must be an integer from 1 to 65535, ' +
        'got "6379" (a string).',
    );
    expect(bootError({ db: -1 })).toMatch(/`db` must be an integer >= 0, got -1\.$/);
    expect(bootError({ username: true })).toMatch(/`username` must be a string, got true\.$/);
    expect(bootError({ family: 5 })).toMatch(/`family` must be 4, 6 or 0, got 5\.$/);
    expect(bootError({ sentinels: [{ host: 'a', port: 99999 }] })).toMatch(
      /`sentinels`\[0\]\.port must be an integer from 1 to 65535, got 99999\.$/,
    );
  });

  it('rejects a port outside 1..65535 in ioredis options', () => {
    expect(bootError({ host: 'localhost', port: 65536 })).toMatch(/`port` .*, got 65536\.$/);
    expect(bootError({ port: 0 })).toMatch(/`port` .*, got 0\.$/);
  });

  it('shows only the type of a password of the wrong type', () => {
    expect(bootError({ password: 123456 })).toBe(
      'DistributedLockModule option `redis` option `password` must be a string, got a number.',
    );
  });

  it('rejects a value that is neither a URL, options nor a client', () => {
    expect(bootError(6379)).toMatch(/, ioredis options or an ioredis client, got 6379\.$/);
  });

  it('accepts well-typed ioredis options and a client without inspecting it', () => {
    expect(() => assertRedisOption({ host: 'h', port: 6379, db: 1, password: 'p' })).not.toThrow();
    expect(() => assertRedisOption({ evalsha: () => undefined, port: 'any' })).not.toThrow();
  });
});
