import { sha256 } from './sha256';

/**
 * SHA-256 (hex) of `value` as canonical JSON: object keys sorted at every depth, so the same
 * data in another key order has the same fingerprint. As in JSON, an `undefined` property is
 * left out and `undefined` elsewhere is `null`; a bigint is its decimal text, a Map its entries
 * and a Set its values (both in insertion order).
 */
export function fingerprintOf(value: unknown): string {
  return sha256(canonicalJson(value), 'hex');
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value, new Set())) ?? 'null';
}

function sorted(value: unknown, seen: Set<object>, viaJson = false): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  // toJSON is called once, as JSON.stringify does: what it returns is taken as it is.
  const withJson = value as { toJSON?: () => unknown };
  if (!viaJson && typeof withJson.toJSON === 'function') {
    return sorted(withJson.toJSON(), seen, true);
  }
  if (value instanceof Map) return sorted([...value.entries()], seen);
  if (value instanceof Set) return sorted([...value.values()], seen);
  if (seen.has(value)) throw new TypeError('The idempotency fingerprint is a circular structure.');
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item: unknown) => sorted(item, seen) ?? null);
  } else {
    const record: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      record[key] = sorted((value as Record<string, unknown>)[key], seen);
    }
    out = record;
  }
  seen.delete(value);
  return out;
}
