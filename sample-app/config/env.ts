/**
 * Reads a whole number of milliseconds (or any non-negative integer) from an environment
 * variable; `fallback` when it is unset or empty. A malformed value stops the app at startup
 * instead of silently using the default.
 */
export function intFromEnv(name: string, fallback: number, env = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`Environment variable ${name} must be a non-negative integer, got "${raw}".`);
  }
  return value;
}

/** `true` for 1/true/yes/on, `false` for 0/false/no/off (any case); `fallback` when unset. */
export function boolFromEnv(name: string, fallback: boolean, env = process.env): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`Environment variable ${name} must be a boolean, got "${env[name]}".`);
}
