import { script, WAITED_MARK } from '../lock-scripts';

/**
 * The second round of a Redlock acquisition: KEYS L, F; ARGV token, fencing token T. Where the
 * token still holds L, raises the slot's fencing counter to at least T (`c := max(c, T)`), so
 * that whoever takes L on this master after it gets a token above T. Returns 1 when raised (or
 * already that high), 0 when the token no longer holds L (that master does not count).
 */
export const RAISE_FENCE_SCRIPT = script(
  'redlockRaiseFence',
  `
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] and holder ~= ARGV[1] .. '${WAITED_MARK}' then return 0 end
-- Tokens stay below 2^53: exact in Lua's doubles, written without an exponent.
local fence = tonumber(ARGV[2])
if (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) < fence then
  redis.call('SET', KEYS[2], string.format('%.0f', fence))
end
return 1
`,
);
