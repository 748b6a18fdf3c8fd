import { describeValue } from './describe-value';

export function assertBoolean(
  value: unknown,
  name: string,
  label: string,
): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${label} \`${name}\` must be true or false, got ${describeValue(value)}.`);
  }
}

/** One of a few string literals; the message lists them. */
export function assertOneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  name: string,
  label: string,
): asserts value is T {
  if (!allowed.includes(value as T)) {
    const list = allowed.map((a) => `'${a}'`);
    const choices = `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
    throw new TypeError(`${label} \`${name}\` must be ${choices}, got ${describeValue(value)}.`);
  }
}
