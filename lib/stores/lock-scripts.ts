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

/** The value of KEYS[1] while read locks are held (never a token: '*' is not base64url). */
export const READERS_MARKER = '*readers*';

/*
 * Keys, all sharing the lock's hash tag (one Cluster slot):
 *   KEYS[1] L  exclusive holder: a string holding the owner token (or the readers marker), with
 *              the lease as its TTL. It is never free while someone waits: a release hands it
 *              straight to the next in line, so an uncontended acquire is a bare SET NX.
 *   KEYS[2] F  fencing counter
 *   KEYS[3] Q  waiters in arrival order: zset token -> sequence number
 *   KEYS[4] T  waiter leases: zset token -> ms when the waiter is presumed dead
 *   KEYS[5] W  waiting writers (exclusive waiters): zset token -> sequence, a subset of Q
 *   KEYS[6] H  shared holders (readers or semaphore permits): zset token -> lease end in ms
 *   KEYS[7] P  per waiter: its lease ms while it waits; '=<fencing token>' once it was handed
 *              the lock, for a waiter that missed the message
 * Modes: 'x' exclusive (plain or write lock), 'r' read lock, 's' semaphore permit.
 */
const FENCE = `
-- A counter that is new (or expired) starts from the clock in microseconds: above every token
-- it gave before, so it may expire instead of living forever.
local function next_fence(retention)
  local fence = redis.call('INCR', KEYS[2])
  if fence == 1 then
    local t = redis.call('TIME')
    fence = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', KEYS[2], string.format('%.0f', fence), 'PX', retention)
  end
  return fence
end
`;

const PRELUDE = `${FENCE}
local L, F, Q, T, W, H, P = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local MARKER = '${READERS_MARKER}'
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function dequeue(token)
  redis.call('ZREM', Q, token)
  redis.call('ZREM', T, token)
  redis.call('ZREM', W, token)
  redis.call('HDEL', P, token)
end
-- A key's TTL must cover its longest-lived member.
local function cover(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
-- Waiters that stopped renewing their place died or stalled: they must not block the line.
local function prune(now)
  local gone = redis.call('ZRANGEBYSCORE', T, '-inf', now)
  for i = 1, #gone do dequeue(gone[i]) end
  redis.call('ZREMRANGEBYSCORE', H, '-inf', now)
end
-- Gives the resource to the waiters at the head of the line for as long as they fit, and tells
-- each one on the channel ('token fence lease-ms'). sem: semaphore with 'limit' permits.
local function handoff(now, sem, limit, channel, retention)
  prune(now)
  while true do
    local head = redis.call('ZRANGE', Q, 0, 0)[1]
    if not head then return end
    local wanted = tonumber(redis.call('HGET', P, head))
    local writer = redis.call('ZSCORE', W, head)
    if not wanted then
      dequeue(head)
    else
      -- Hand over no longer than the waiter is known to be alive; it tops the lease up itself.
      local alive = tonumber(redis.call('ZSCORE', T, head)) or now
      local ttl = math.max(1, math.min(wanted, alive - now))
      if sem then
        if redis.call('ZCARD', H) >= limit then return end
        redis.call('ZADD', H, now + ttl, head)
        cover(H, ttl)
      elseif writer then
        if redis.call('EXISTS', L) == 1 then return end
        redis.call('SET', L, head, 'PX', ttl)
      else
        local holder = redis.call('GET', L)
        if holder and holder ~= MARKER then return end
        if holder then cover(L, ttl) else redis.call('SET', L, MARKER, 'PX', ttl) end
        redis.call('ZADD', H, now + ttl, head)
        cover(H, ttl)
      end
      local fence = string.format('%.0f', next_fence(retention))
      redis.call('ZREM', Q, head)
      redis.call('ZREM', T, head)
      if writer then redis.call('ZREM', W, head) end
      -- The record outlives the message for a waiter that missed it; P's TTL already covers
      -- the waiter's lease, and the waiter looks again before that ends.
      redis.call('HSET', P, head, '=' .. fence)
      redis.call('PUBLISH', channel, head .. ' ' .. fence .. ' ' .. ttl)
      if writer then return end
    end
  end
end
-- Drops a shared hold; the readers marker goes with the last reader.
local function drop_shared(token, now)
  local ends = redis.call('ZSCORE', H, token)
  if not ends then return 0 end
  redis.call('ZREM', H, token)
  redis.call('ZREMRANGEBYSCORE', H, '-inf', now)
  if redis.call('ZCARD', H) == 0 and redis.call('GET', L) == MARKER then redis.call('DEL', L) end
  -- A hold whose lease ended was no longer held: report it as lost, not released.
  if tonumber(ends) <= now then return 0 end
  return 1
end
`;

/**
 * The uncontended exclusive acquire: KEYS L, F; ARGV token, lease ms, fencing retention ms.
 * Returns the new fencing token, or nil when the lock is held or handed to a waiter.
 */
export const FAST_ACQUIRE_SCRIPT = script(
  'fastAcquire',
  `${FENCE}
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return next_fence(ARGV[3])
`,
);

/**
 * ARGV: token, lease ms, mode, permit limit, waiter lease ms (0: do not queue), wake channel,
 * fencing retention ms. Returns the new fencing token, or {hint}: ms until the blocking lease
 * ends if this caller is next in line, else -1.
 */
export const ACQUIRE_SCRIPT = script(
  'acquire',
  `${PRELUDE}
local token, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local limit, lease, channel, retention = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]
local now = clock()

-- Handed over while this caller was not listening: it is ours if the lease still runs, and
-- now that the caller shows it is alive, with its full lease.
local grant = redis.call('HGET', P, token)
if grant and string.sub(grant, 1, 1) == '=' then
  redis.call('HDEL', P, token)
  local ends = redis.call('ZSCORE', H, token)
  if mode == 'x' and redis.call('GET', L) == token then
    redis.call('PEXPIRE', L, ttl)
    return tonumber(string.sub(grant, 2))
  end
  if mode ~= 'x' and ends and tonumber(ends) > now then
    redis.call('ZADD', H, now + ttl, token)
    cover(H, ttl)
    if mode == 'r' then cover(L, ttl) end
    return tonumber(string.sub(grant, 2))
  end
end

prune(now)
local holder = redis.call('GET', L)
local free
if mode == 'x' then free = not holder
elseif mode == 'r' then free = not holder or holder == MARKER
else free = redis.call('ZCARD', H) < limit end

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
    if mode == 'r' then
      if holder then cover(L, ttl) else redis.call('SET', L, MARKER, 'PX', ttl) end
    end
    redis.call('ZADD', H, now + ttl, token)
    cover(H, ttl)
  end
  if mine then dequeue(token) end
  local fence = next_fence(retention)
  -- A shared hold can leave room for the next in line.
  if mode ~= 'x' then handoff(now, mode == 's', limit, channel, retention) end
  return fence
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
  redis.call('HSET', P, token, ttl)
  cover(Q, lease)
  cover(T, lease)
  cover(P, lease)
  if mode == 'x' then cover(W, lease) end
end

-- Free but not this caller's turn (a holder's lease ran out): hand it to the line now.
if free and head and head ~= token then handoff(now, mode == 's', limit, channel, retention) end

if head ~= token then return {-1} end
local left = redis.call('PTTL', L)
if left < 0 or mode == 's' then
  local first = redis.call('ZRANGE', H, 0, 0, 'WITHSCORES')
  left = first[2] and (tonumber(first[2]) - now) or -1
end
return {left}
`,
);

/**
 * ARGV: token, mode, wake channel, permit limit, handed-over flag ('1': forget the hand-over
 * record), fencing retention ms. Releases only the owner's hold, then hands the resource to the
 * next in line.
 */
export const RELEASE_SCRIPT = script(
  'release',
  `
-- The common case first, before the helpers below are even defined: an exclusive lock that
-- nobody waits for.
if ARGV[2] == 'x' then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
  redis.call('DEL', KEYS[1])
  if ARGV[5] == '1' then redis.call('HDEL', KEYS[7], ARGV[1]) end
  if redis.call('EXISTS', KEYS[3]) == 0 then return 1 end
end
${PRELUDE}
local token, mode, channel = ARGV[1], ARGV[2], ARGV[3]
local limit, granted, retention = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local released = 1
if mode == 'x' then
  handoff(clock(), false, 0, channel, retention)
  return 1
end
local now = clock()
released = drop_shared(token, now)
if granted == '1' then redis.call('HDEL', P, token) end
handoff(now, mode == 's', limit, channel, retention)
return released
`,
);

/** ARGV: token, lease ms, mode. Renews only the owner's hold: 1, or 0 if it was lost. */
export const EXTEND_SCRIPT = script(
  'extend',
  `
if ARGV[3] == 'x' then
  if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return 0
end
${PRELUDE}
local token, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now = clock()
local ends = redis.call('ZSCORE', H, token)
if not ends or tonumber(ends) <= now then return 0 end
redis.call('ZADD', H, 'XX', now + ttl, token)
cover(H, ttl)
if mode == 'r' then cover(L, ttl) end
return 1
`,
);

/**
 * ARGV: token, mode, wake channel, permit limit, fencing retention ms. A waiter gives up: it
 * leaves the line, and if it had just been handed the resource, gives that back. Returns 1 when
 * a handed-over hold was given back.
 */
export const LEAVE_SCRIPT = script(
  'leave',
  `${PRELUDE}
local token, mode, channel, limit, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local now = clock()
local grant = redis.call('HGET', P, token)
local gaveBack = 0
if redis.call('ZSCORE', Q, token) then
  dequeue(token)
elseif grant and string.sub(grant, 1, 1) == '=' then
  redis.call('HDEL', P, token)
  if mode == 'x' then
    if redis.call('GET', L) == token then
      redis.call('DEL', L)
      gaveBack = 1
    end
  else
    gaveBack = drop_shared(token, now)
  end
else
  return 0
end
handoff(now, mode == 's', limit, channel, retention)
return gaveBack
`,
);

/** Whether anyone holds the resource: the exclusive key (or readers marker) or a live shared hold. */
export const IS_LOCKED_SCRIPT = script(
  'isLocked',
  `${PRELUDE}
if redis.call('EXISTS', L) == 1 then return 1 end
if redis.call('ZCOUNT', H, '(' .. clock(), '+inf') > 0 then return 1 end
return 0
`,
);
