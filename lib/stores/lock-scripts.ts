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

/*
 * Every script gets the same six keys, all sharing the lock's hash tag (one Cluster slot):
 *   KEYS[1] L  exclusive holder: a string holding the owner token, with the lease as its TTL
 *   KEYS[2] F  fencing counter, never expires
 *   KEYS[3] Q  waiters in arrival order: zset token -> sequence number
 *   KEYS[4] T  waiter leases: zset token -> ms when the waiter is presumed dead
 *   KEYS[5] W  waiting writers (exclusive waiters): zset token -> sequence, a subset of Q
 *   KEYS[6] H  shared holders (readers or semaphore permits): zset token -> lease end in ms
 * Modes: 'x' exclusive (plain or write lock), 'r' read lock, 's' semaphore permit.
 */
const PRELUDE = `
local L, F, Q, T, W, H = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Waiters that stopped renewing their place died or stalled: they must not block the line.
local function prune_waiters(now)
  local gone = redis.call('ZRANGEBYSCORE', T, '-inf', now)
  for i = 1, #gone do
    redis.call('ZREM', Q, gone[i])
    redis.call('ZREM', T, gone[i])
    redis.call('ZREM', W, gone[i])
  end
end
-- A key's TTL must cover its longest-lived member.
local function cover(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`;

/**
 * ARGV: token, lease ms, mode, permit limit (0: unlimited readers), waiter lease ms (0: do not
 * queue), wake channel. Returns the new fencing token, or {hint}: ms until the blocking lease
 * ends if this caller is next in line, else -1.
 */
export const ACQUIRE_SCRIPT = script(
  'acquire',
  `${PRELUDE}
local token, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local limit, lease, channel = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

-- Fast path: nobody waits and nobody shares, so an exclusive lock is one SET.
if mode == 'x' and redis.call('EXISTS', Q) == 0 and redis.call('EXISTS', H) == 0 then
  if redis.call('SET', L, token, 'NX', 'PX', ttl) then
    return redis.call('INCR', F)
  end
end

local now = clock()
prune_waiters(now)
redis.call('ZREMRANGEBYSCORE', H, '-inf', now)

local free = redis.call('EXISTS', L) == 0
if free then
  local shared = redis.call('ZCARD', H)
  if mode == 'x' then free = shared == 0 else free = limit == 0 or shared < limit end
end

local mine = redis.call('ZSCORE', Q, token)
local head = redis.call('ZRANGE', Q, 0, 0)[1]
local turn
if mode == 'r' then
  -- Readers may pass readers, never a writer that queued before them.
  local writer = redis.call('ZRANGE', W, 0, 0, 'WITHSCORES')
  turn = #writer == 0 or (mine and tonumber(mine) < tonumber(writer[2]))
else
  turn = head == nil or head == token
end

if free and turn then
  if mode == 'x' then
    redis.call('SET', L, token, 'PX', ttl)
  else
    redis.call('ZADD', H, now + ttl, token)
    cover(H, ttl)
  end
  if mine then
    redis.call('ZREM', Q, token)
    redis.call('ZREM', T, token)
    redis.call('ZREM', W, token)
    head = redis.call('ZRANGE', Q, 0, 0)[1]
  end
  -- A shared entry can leave room for the next in line: wake it so the line keeps moving.
  if head and mode ~= 'x' then
    local room = (mode == 'r' and not redis.call('ZSCORE', W, head))
      or (mode == 's' and redis.call('ZCARD', H) < limit)
    if room then redis.call('PUBLISH', channel, head) end
  end
  return redis.call('INCR', F)
end

if lease > 0 then
  if not mine then
    local last = redis.call('ZRANGE', Q, -1, -1, 'WITHSCORES')
    local seq = (tonumber(last[2]) or 0) + 1
    redis.call('ZADD', Q, seq, token)
    if mode == 'x' then redis.call('ZADD', W, seq, token) end
    if not head then head = token end
  end
  redis.call('ZADD', T, now + lease, token)
  cover(Q, lease)
  cover(T, lease)
  if mode == 'x' then cover(W, lease) end
end

-- Free but not our turn: the one whose turn it is may have missed its wake-up.
if free and head and head ~= token then redis.call('PUBLISH', channel, head) end

if head ~= token then return {-1} end
local left = redis.call('PTTL', L)
if left < 0 then
  local first = redis.call('ZRANGE', H, 0, 0, 'WITHSCORES')
  left = first[2] and (tonumber(first[2]) - now) or -1
end
return {left}
`,
);

/** ARGV: token, mode, wake channel. Releases only the owner's hold and wakes the next in line. */
export const RELEASE_SCRIPT = script(
  'release',
  `${PRELUDE}
local token, mode, channel = ARGV[1], ARGV[2], ARGV[3]
local released = 1
if mode == 'x' then
  if redis.call('GET', L) ~= token then return 0 end
  redis.call('DEL', L)
else
  local ends = redis.call('ZSCORE', H, token)
  if not ends then return 0 end
  redis.call('ZREM', H, token)
  -- A permit whose lease ended was no longer held: report it as lost, not released.
  if tonumber(ends) <= clock() then released = 0 end
end
if redis.call('EXISTS', Q) == 1 then
  prune_waiters(clock())
  local head = redis.call('ZRANGE', Q, 0, 0)[1]
  if head then redis.call('PUBLISH', channel, head) end
end
return released
`,
);

/** ARGV: token, lease ms, mode. Renews only the owner's hold: 1, or 0 if it was lost. */
export const EXTEND_SCRIPT = script(
  'extend',
  `${PRELUDE}
local token, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if mode == 'x' then
  if redis.call('GET', L) == token then return redis.call('PEXPIRE', L, ttl) end
  return 0
end
local now = clock()
local ends = redis.call('ZSCORE', H, token)
if not ends or tonumber(ends) <= now then return 0 end
redis.call('ZADD', H, 'XX', now + ttl, token)
cover(H, ttl)
return 1
`,
);

/** ARGV: token, wake channel. A waiter gives up its place; if it was first, the next is woken. */
export const LEAVE_SCRIPT = script(
  'leave',
  `${PRELUDE}
local token, channel = ARGV[1], ARGV[2]
local head = redis.call('ZRANGE', Q, 0, 0)[1]
if redis.call('ZREM', Q, token) == 0 then return 0 end
redis.call('ZREM', T, token)
redis.call('ZREM', W, token)
if head == token then
  local next = redis.call('ZRANGE', Q, 0, 0)[1]
  if next then redis.call('PUBLISH', channel, next) end
end
return 1
`,
);

/** Whether anyone holds the resource: the exclusive key or a live shared hold. */
export const IS_LOCKED_SCRIPT = script(
  'isLocked',
  `${PRELUDE}
if redis.call('EXISTS', L) == 1 then return 1 end
if redis.call('ZCOUNT', H, '(' .. clock(), '+inf') > 0 then return 1 end
return 0
`,
);
