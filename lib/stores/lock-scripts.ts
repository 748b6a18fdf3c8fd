import { createHash } from 'node:crypto';

/** A Lua script run by SHA; `sha` is computed here so the first call needs no SCRIPT LOAD. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * KEYS[1] lock, KEYS[2] fencing counter (same hash tag); ARGV[1] owner token, ARGV[2] lease ms.
 * Returns the new fencing token, or nil when the lock is held.
 */
export const ACQUIRE_SCRIPT = script(
  'acquire',
  `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  -- The counter never expires: tokens must keep increasing after the lock key is gone.
  return redis.call('INCR', KEYS[2])
end
return false
`,
);

/** KEYS[1] lock; ARGV[1] owner token. Deletes only the owner's lock: 1 if deleted, else 0. */
export const RELEASE_SCRIPT = script(
  'release',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
);

/** KEYS[1] lock; ARGV[1] owner token, ARGV[2] lease ms. Renews only the owner's lock: 1 or 0. */
export const EXTEND_SCRIPT = script(
  'extend',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`,
);
