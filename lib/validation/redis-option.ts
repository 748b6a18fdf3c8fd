import { describeType, describeValue } from './describe-value';

const LABEL = 'DistributedLockModule option `redis`';
const URL_FORMS = 'a redis://, rediss:// or unix: URL (or an absolute unix socket path)';
/** `redis[s]://[user[:password]@]host[:port][/db][?query]`, split where messages need it. */
const REDIS_URL = /^rediss?:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?([^?#]*)/;

/**
 * Checks the `redis` module option without connecting: a URL ioredis reads the way it looks,
 * ioredis options with the right types, or a client (not inspected further).
 */
export function assertRedisOption(redis: unknown, label: string = LABEL): void {
  if (redis === undefined) return;
  if (typeof redis === 'string') return assertRedisUrl(redis, label);
  if (typeof redis !== 'object' || redis === null || Array.isArray(redis)) {
    throw new TypeError(
      `${label} must be ${URL_FORMS}, ioredis options or an ioredis client, ` +
        `got ${describeValue(redis)}.`,
    );
  }
  // A client (standalone or cluster) is the caller's own: its settings are not ours to judge.
  if (typeof (redis as { evalsha?: unknown }).evalsha === 'function') return;
  assertRedisOptions(redis as Record<string, unknown>, label);
}

function assertRedisUrl(url: string, label: string): void {
  // Messages show the URL without its credentials.
  const redacted = url.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^@/?#]*@/i, '$1***@');
  const shown = JSON.stringify(redacted);
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const [, host, port, path] = REDIS_URL.exec(url) ?? [];
    if (host === undefined || host === '') {
      throw new TypeError(`${label} URL ${shown} names no host.`);
    }
    if (port !== undefined && !isIntegerText(port, 1, 65_535)) {
      throw new TypeError(`${label} URL ${shown} has port "${port}"; a port is 1 to 65535.`);
    }
    if (path !== '' && path !== '/' && !/^\/\d+$/.test(path)) {
      throw new TypeError(
        `${label} URL ${shown} has path "${path}"; the only path a Redis URL takes is the ` +
          'database number, as in redis://localhost:6379/2.',
      );
    }
    if (!URL.canParse(url)) throw new TypeError(`${label} URL ${shown} is not a valid URL.`);
    return;
  }
  if (url.startsWith('unix:')) {
    // ioredis reads unix:/path and unix:///path as the socket path; a host part would be lost.
    if (!/^unix:(?:\/\/)?\/[^/]/.test(url)) {
      throw new TypeError(
        `${label} URL ${shown} must name an absolute socket path: unix:///path/to/redis.sock.`,
      );
    }
    return;
  }
  // ioredis documents a bare socket path: new Redis('/tmp/redis.sock').
  if (url.startsWith('/') && !url.startsWith('//')) return;

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  let advice: string;
  if (scheme !== undefined && /^(rediss?|unix)$/i.test(scheme)) {
    // ioredis turns TLS on only for a lower-case rediss://.
    advice = `write the scheme in lower case: ${scheme.toLowerCase()}://`;
  } else if (scheme !== undefined) {
    advice = `the ${scheme}:// scheme is not a Redis URL`;
  } else if (url === '') {
    advice = 'it is empty';
  } else {
    advice = `write redis://${redacted}`;
  }
  throw new TypeError(`${label} must be ${URL_FORMS}, got ${shown} (a string): ${advice}.`);
}

function assertRedisOptions(options: Record<string, unknown>, subject: string): void {
  const label = `${subject} option`;
  const { host, port, db, path, family, sentinels, connectTimeout } = options;
  for (const name of ['host', 'username', 'password', 'path', 'name', 'sentinelPassword']) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'string') {
      // A password of the wrong type is still a password: show its type only.
      const got = /password/i.test(name) ? describeType(value) : describeValue(value);
      throw new TypeError(`${label} \`${name}\` must be a string, got ${got}.`);
    }
  }
  if (host === '') throw new TypeError(`${label} \`host\` is empty.`);
  if (path === '') throw new TypeError(`${label} \`path\` is empty.`);
  if (port !== undefined) assertPort(port, `${label} \`port\``);
  if (db !== undefined && (!Number.isSafeInteger(db) || (db as number) < 0)) {
    throw new TypeError(`${label} \`db\` must be an integer >= 0, got ${describeValue(db)}.`);
  }
  if (family !== undefined && family !== 0 && family !== 4 && family !== 6) {
    throw new TypeError(`${label} \`family\` must be 4, 6 or 0, got ${describeValue(family)}.`);
  }
  if (
    connectTimeout !== undefined &&
    (!Number.isSafeInteger(connectTimeout) || (connectTimeout as number) < 0)
  ) {
    throw new TypeError(
      `${label} \`connectTimeout\` must be an integer number of ms >= 0, ` +
        `got ${describeValue(connectTimeout)}.`,
    );
  }
  if (sentinels !== undefined) assertSentinels(sentinels, `${label} \`sentinels\``);
}

function assertSentinels(sentinels: unknown, label: string): void {
  if (!Array.isArray(sentinels)) {
    throw new TypeError(
      `${label} must be an array of { host, port }, got ${describeValue(sentinels)}.`,
    );
  }
  sentinels.forEach((sentinel: unknown, i) => {
    if (typeof sentinel !== 'object' || sentinel === null) {
      throw new TypeError(`${label}[${i}] must be { host, port }, got ${describeValue(sentinel)}.`);
    }
    const { host, port } = sentinel as Record<string, unknown>;
    if (host !== undefined && (typeof host !== 'string' || host === '')) {
      throw new TypeError(
        `${label}[${i}].host must be a non-empty string, got ${describeValue(host)}.`,
      );
    }
    if (port !== undefined) assertPort(port, `${label}[${i}].port`);
  });
}

function assertPort(port: unknown, label: string): void {
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535) {
    throw new TypeError(`${label} must be an integer from 1 to 65535, got ${describeValue(port)}.`);
  }
}

function isIntegerText(text: string, min: number, max: number): boolean {
  return /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max;
}
