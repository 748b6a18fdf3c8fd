const MAX_SHOWN_STRING = 40;

/**
 * A bad option value as a message shows it, with its type visible: `"1000" (a string)`, `NaN`,
 * `1e+21`, `an array`. Only for values the developer wrote, never for request data.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const shown =
        value.length > MAX_SHOWN_STRING ? `${value.slice(0, MAX_SHOWN_STRING)}…` : value;
      return `${JSON.stringify(shown)} (a string)`;
    }
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${String(value)}n (a bigint)`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return `${String(value)} (a symbol)`;
    case 'function':
      return value.name ? `a function (${value.name})` : 'a function';
  }
  return describeType(value);
}

/** The type of a value without the value itself: `a string`, `an array`, `null`. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) return 'an object';
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
  }
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
