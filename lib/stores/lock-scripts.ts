import { createHash } from 'node:crypto';

/** A Lua script run by SHA; `sha` is computed here so the first call needs no SCRIPT LOAD. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

export function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** The value of KEYS[1] while read locks are held (never a token: '*' is not base64url). */
export const READERS_MARKER = '*readers*';

/**
 * Appended to an exclusive holder's token in KEYS[1] once someone waits behind it. Tokens never
 * contain a space (the wake-up message is space-separated), so '<token> waited' is no token.
 */
export const WAITED_MARK = ' waited';

/** FAST_RELEASE's reply when someone waits: the full release must run, to hand over. */
export const RELEASE_NEEDS_HANDOFF = -1;

/** First element of ACQUIRE's reply {'permits', count} for a semaphore in use with another count. */
export const PERMITS_IN_USE = 'permits';

/*
 * Keys, all sharing the lock's hash tag (one Cluster slot):
 *   KEYS[1] L  exclusive holder: a string holding the owner token, with the lease as its TTL;
 *              '<token> waited' when others are in line (it was taken with others in line, or
 *              someone queued behind it), so that its release knows it must hand over, while
 *              an unwaited release needs L alone. It is never free while someone waits: a
 *              release hands it straight to the next in line, so an uncontended acquire is a
 *              bare SET NX. (A holder whose lease ran out leaves it free until the first waiter
 *              looks again; a newcomer's SET NX then is unmarked until that look, so its
 *              release in between leaves it free for that waiter rather than handing over.)
 *              While read locks are held it is the readers marker, which lives exactly as long
 *              as the latest read lease.
 *   KEYS[2] F  fencing counter of the lock's Cluster slot (not of the lock: see lock-resource.ts)
 *   KEYS[3] Q  waiters in arrival order: zset token -> sequence number
 *   KEYS[4] T  waiter leases: zset token -> ms when the waiter is presumed dead
 *   KEYS[5] W  waiting writers (exclusive waiters): zset token -> sequence, a subset of Q
 *   KEYS[6] H  shared holders (readers or semaphore permits): zset token -> lease end in ms;
 *              its TTL is the latest lease end
 *   KEYS[7] P  per waiter: the lease ms it asks for, which its hand-over gives it
 *   KEYS[8] N  semaphores only: the permit count, while anyone holds or waits for a permit
 * Q, T, W and P describe waiters in line and nothing else: a waiter leaves all four when it is
 * handed the resource, takes it, gives up, or stops renewing its place.
 * A call by a token that already holds the resource is a retry of a call whose reply was lost,
 * or comes from a waiter that missed its hand-over message: it is still that token's.
 * Modes: 'x' exclusive (plain or write lock), 'r' read lock, 's' semaphore permit.
 */
export const FENCE_FUNCTION = `
-- KEYS[2] is the counter of the lock's Cluster slot, shared by every lock of that slot: still
-- strictly increasing for each of them. A token is the counter plus one, or the server's clock
-- in microseconds when that is higher. The clock keeps tokens increasing where the counter
-- alone would not: after a restart without persistence, or after a failover to a replica that
-- had not yet received its latest increments.
local function next_fence()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  -- One command in the usual case, where the clock is ahead of the counter.
  local last = tonumber(redis.call('SET', KEYS[2], string.format('%.0f', now), 'GET') or '0')
  if last < now then return now end
  local fence = last + 1
  redis.call('SET', KEYS[2], string.format('%.0f', fence))
  return fence
end
`;

const PRELUDE = `${FENCE_FUNCTION}
local L, F, Q, T, W, H, P, N = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local MARKER = '${READERS_MARKER}'
local WAITED = '${WAITED_MARK}'
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Whether token is L's exclusive holder, whether or not someone waits behind it.
local function holds_exclusive(token)
  local holder = redis.call('GET', L)
  return holder == token or holder == token .. WAITED
end
-- L for token; marked when others are in line, so that its release takes the path that hands
-- over.
local function hold_exclusive(token, ttl)
  local value = token
  if redis.call('EXISTS', Q) == 1 then value = token .. WAITED end
  redis.call('SET', L, value, 'PX', ttl)
end
-- Someone queued behind L's exclusive holder: its release must take the path that hands over.
local function mark_waited()
  local holder = redis.call('GET', L)
  if not holder or holder == MARKER or string.sub(holder, -#WAITED) == WAITED then return end
  local left = redis.call('PTTL', L)
  if left > 0 then redis.call('SET', L, holder .. WAITED, 'PX', left) end
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
-- H, and the readers marker in L, last exactly until the latest shared lease ends: a reader
-- that released or died keeps no writer out.
local function fit_shared(now)
  local last = redis.call('ZRANGE', H, -1, -1, 'WITHSCORES')[2]
  local left = last and (tonumber(last) - now) or 0
  if left > 0 then redis.call('PEXPIRE', H, left) else redis.call('DEL', H) end
  if redis.call('GET', L) == MARKER then
    if left > 0 then redis.call('PEXPIRE', L, left) else redis.call('DEL', L) end
  end
end
-- A semaphore's permit count lasts while anyone holds or waits for a permit, and no longer.
local function fit_permits(now, limit)
  local held = tonumber(redis.call('ZRANGE', H, -1, -1, 'WITHSCORES')[2]) or 0
  local waits = tonumber(redis.call('ZRANGE', T, -1, -1, 'WITHSCORES')[2]) or 0
  local left = math.max(held, waits) - now
  if left > 0 and limit then redis.call('SET', N, limit, 'PX', left) else redis.call('DEL', N) end
end
-- Waiters that stopped renewing their place died or stalled: they must not block the line.
-- Shared holds whose lease ended are gone too.
local function prune(now)
  local gone = redis.call('ZRANGEBYSCORE', T, '-inf', now)
  for i = 1, #gone do dequeue(gone[i]) end
  if redis.call('ZREMRANGEBYSCORE', H, '-inf', now) > 0 then fit_shared(now) end
  -- Every entry of P is a waiter in Q; the hand-over records of older versions were not.
  if redis.call('HLEN', P) > redis.call('ZCARD', Q) then
    local fields = redis.call('HKEYS', P)
    for i = 1, #fields do
      if not redis.call('ZSCORE', Q, fields[i]) then redis.call('HDEL', P, fields[i]) end
    end
  end
end
-- A shared hold for token until now + ttl; a reader's hold puts the readers marker in L.
local function hold_shared(token, ttl, now, reader)
  redis.call('ZADD', H, now + ttl, token)
  if reader and not redis.call('GET', L) then redis.call('SET', L, MARKER) end
  fit_shared(now)
end
-- Drops token's shared hold: false when it had none, 0 when its lease had ended, 1 when live.
local function drop_shared(token, now)
  local ends = redis.call('ZSCORE', H, token)
  if not ends then return false end
  redis.call('ZREM', H, token)
  redis.call('ZREMRANGEBYSCORE', H, '-inf', now)
  fit_shared(now)
  -- A hold whose lease ended was no longer held: report it as lost, not released.
  if tonumber(ends) <= now then return 0 end
  return 1
end
-- Gives the resource to the waiters at the head of the line for as long as they fit, and tells
-- each one on the channel ('token fence lease-ms'). sem: semaphore with 'limit' permits.
local function handoff(now, sem, limit, channel)
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
      -- A waiter that missed the message finds the hold its own at its next look, before then.
      local alive = tonumber(redis.call('ZSCORE', T, head)) or now
      local ttl = math.max(1, math.min(wanted, alive - now))
      if sem then
        if redis.call('ZCARD', H) >= limit then return end
      elseif writer then
        if redis.call('EXISTS', L) == 1 then return end
      else
        local holder = redis.call('GET', L)
        if holder and holder ~= MARKER then return end
      end
      dequeue(head)
      if writer then hold_exclusive(head, ttl) else hold_shared(head, ttl, now, not sem) end
      local fence = string.format('%.0f', next_fence())
      redis.call('PUBLISH', channel, head .. ' ' .. fence .. ' ' .. ttl)
      if writer then return end
    end
  end
end
`;

/**
 * The uncontended exclusive acquire: KEYS L, F; ARGV token, lease ms.
 * Returns the new fencing token, or nil when the lock is held or handed to a waiter.
 */
export const FAST_ACQUIRE_SCRIPT = script(
  'fastAcquire',
  `${FENCE_FUNCTION}
local L, token, ttl = KEYS[1], ARGV[1], ARGV[2]
if not redis.call('SET', L, token, 'NX', 'PX', ttl) then
  -- Held, by this very token when this is a retry of a call whose reply was lost: still ours.
  local holder = redis.call('GET', L)
  if holder ~= token and holder ~= token .. '${WAITED_MARK}' then return false end
  redis.call('PEXPIRE', L, ttl)
end
return next_fence()
`,
);

/**
 * ARGV: token, lease ms, mode, permit limit, waiter lease ms (0: do not queue), wake channel.
 * Returns the new fencing token, or {hint}: ms until the blocking lease
 * ends if this caller is next in line, else -1; or {'permits', count} when the semaphore is in
 * use with another permit count.
 */
export const ACQUIRE_SCRIPT = script(
  'acquire',
  `${PRELUDE}
local token, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local limit, lease, channel = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local now = clock()
prune(now)

if mode == 's' then
  -- Callers that count a semaphore's permits differently would let too many in together.
  local counted = tonumber(redis.call('GET', N))
  local inUse = redis.call('EXISTS', H) == 1 or redis.call('EXISTS', Q) == 1
  if counted and counted ~= limit and inUse then return {'${PERMITS_IN_USE}', counted} end
end

-- Already this token's (prune left only live holds): renewed to the lease asked for now, with a
-- new fencing token, above every earlier one since nobody held it in between.
local owned = false
if mode == 'x' then
  if holds_exclusive(token) then
    hold_exclusive(token, ttl)
    owned = true
  end
elseif redis.call('ZSCORE', H, token) then
  hold_shared(token, ttl, now, mode == 'r')
  owned = true
end
if owned then
  if mode == 's' then fit_permits(now, limit) end
  return next_fence()
end

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
  if mine then dequeue(token) end
  if mode == 'x' then
    hold_exclusive(token, ttl)
  else
    hold_shared(token, ttl, now, mode == 'r')
  end
  local fence = next_fence()
  -- A shared hold can leave room for the next in line.
  if mode ~= 'x' then handoff(now, mode == 's', limit, channel) end
  if mode == 's' then fit_permits(now, limit) end
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
  if mode ~= 's' then mark_waited() end
end

-- Free but not this caller's turn (a holder's lease ran out): hand it to the line now.
if free and head and head ~= token then handoff(now, mode == 's', limit, channel) end
if mode == 's' then fit_permits(now, limit) end

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
 * The exclusive release when the hold did not come by a hand-over message: KEYS L; ARGV token.
 * One key, so it works while a Cluster slot migrates. Returns 1 (released), 0 (not the token's:
 * changes nothing), or RELEASE_NEEDS_HANDOFF (someone waits: nothing changed, run RELEASE).
 */
export const FAST_RELEASE_SCRIPT = script(
  'fastRelease',
  `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
if holder == ARGV[1] .. '${WAITED_MARK}' then return ${RELEASE_NEEDS_HANDOFF} end
return 0
`,
);

/**
 * ARGV: token, lease ms, mode. Renews only the owner's hold: 1, or 0 if it was lost. An
 * exclusive hold needs KEYS L alone (so its renewal works while a Cluster slot migrates);
 * shared ones need every key.
 */
export const EXTEND_SCRIPT = script(
  'extend',
  `
if ARGV[3] == 'x' then
  local holder = redis.call('GET', KEYS[1])
  if holder ~= ARGV[1] and holder ~= ARGV[1] .. '${WAITED_MARK}' then return 0 end
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
${PRELUDE}
local token, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now = clock()
local ends = redis.call('ZSCORE', H, token)
if not ends or tonumber(ends) <= now then return 0 end
hold_shared(token, ttl, now, mode == 'r')
if mode == 's' then fit_permits(now, tonumber(redis.call('GET', N))) end
return 1
`,
);

/**
 * ARGV: token, mode, wake channel, permit limit. The token lets go of the
 * resource: its hold if it has one (a release; or, for a waiter giving up, a hand-over or an
 * acquire whose reply was lost, which its caller does not know it has) and its place in line
 * if it has one, then the resource goes to the next in line. Returns 1 when a live hold was
 * let go, else 0; a token that holds nothing (a repeated call, say) changes nothing.
 */
export const RELEASE_SCRIPT = script(
  'release',
  `${PRELUDE}
local token, mode, channel, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = clock()
if mode == 's' then limit = tonumber(redis.call('GET', N)) or limit end
local queued = redis.call('ZSCORE', Q, token)
if queued then dequeue(token) end
-- false: it held nothing; 0: a hold whose lease had ended; 1: a live hold.
local dropped
if mode == 'x' then
  dropped = holds_exclusive(token) and 1
  if dropped then redis.call('DEL', L) end
else
  dropped = drop_shared(token, now)
end
if not queued and not dropped then return 0 end
handoff(now, mode == 's', limit, channel)
if mode == 's' then fit_permits(now, limit) end
return dropped or 0
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
