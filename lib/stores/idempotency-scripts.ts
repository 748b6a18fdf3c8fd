import {
  FENCE_FUNCTION,
  LuaScript,
  RELEASE_NEEDS_HANDOFF,
  script,
  WAITED_MARK,
} from './lock-scripts';
import type { LockResource } from './lock-resource';

/*
 * An idempotency claim is an exclusive lock (KEYS[1] L, KEYS[2] F, with the lock's own waiting,
 * renewal and release) plus a record next to it under the same hash tag:
 *   KEYS[3] R  a string: the request's fingerprint (a hex digest, never a newline), set by the
 *              claim; then '<fingerprint>\n<response>', set by the completion. Its TTL is the
 *              retention. A record without a response whose lock is free belongs to a claimer
 *              that died: the next claim takes it over.
 */

/** The record's key: next to the claim's lock, in its Cluster slot. */
export function recordKey(resource: LockResource): string {
  return `${resource.id}:record`;
}

/** First element of CLAIM's reply. */
export const CLAIMED = 'claimed';
export const IN_FLIGHT = 'busy';
export const COMPLETED = 'done';
export const MISMATCH = 'mismatch';

/**
 * KEYS L, F, R; ARGV token, lease ms, fingerprint, record retention ms.
 * Returns {'mismatch'}, {'done', response}, {'busy', ms until the holder's lease ends} or
 * {'claimed', fencing token}. A completed record answers before the lock is looked at, so a
 * replay costs one read. The token that holds L (a retry whose reply was lost, or a waiter the
 * lock was handed to) claims it again.
 */
export const CLAIM_SCRIPT = script(
  'idempotencyClaim',
  `${FENCE_FUNCTION}
local L, R = KEYS[1], KEYS[3]
local token, ttl, fp = ARGV[1], ARGV[2], ARGV[3]
local rec = redis.call('GET', R)
local recFp = rec
if rec then
  local newline = string.find(rec, '\\n', 1, true)
  if newline then
    if string.sub(rec, 1, newline - 1) ~= fp then return {'${MISMATCH}'} end
    return {'${COMPLETED}', string.sub(rec, newline + 1)}
  end
end
local holder = redis.call('GET', L)
local mine = holder == token or holder == token .. '${WAITED_MARK}'
if holder and not mine then
  -- In flight: another fingerprint is refused now, not after the first request ends.
  if recFp and recFp ~= fp then return {'${MISMATCH}'} end
  return {'${IN_FLIGHT}', redis.call('PTTL', L)}
end
if mine then redis.call('PEXPIRE', L, ttl) else redis.call('SET', L, token, 'PX', ttl) end
redis.call('SET', R, fp, 'PX', ARGV[4])
return {'${CLAIMED}', next_fence()}
`,
);

/**
 * KEYS L, R; ARGV token, response (empty: the claim is given up and the record dropped),
 * record retention ms, fingerprint. Only the claim's holder may: returns 0 when L is not the token's (the
 * claim was lost; nothing is written). Otherwise returns 1 when L is let go too, or
 * RELEASE_NEEDS_HANDOFF when others wait: the record is written and the lock's full release
 * must run to hand it to the next in line.
 */
export const COMPLETE_SCRIPT = script(
  'idempotencyComplete',
  `
local L, R = KEYS[1], KEYS[2]
local token, response = ARGV[1], ARGV[2]
local holder = redis.call('GET', L)
if holder ~= token and holder ~= token .. '${WAITED_MARK}' then return 0 end
if response == '' then
  redis.call('DEL', R)
else
  redis.call('SET', R, ARGV[4] .. '\\n' .. response, 'PX', ARGV[3])
end
if holder == token then
  redis.call('DEL', L)
  return 1
end
return ${RELEASE_NEEDS_HANDOFF}
`,
);

export type { LuaScript };
