import { closestName } from './closest-name';
import { describeValue } from './describe-value';

/**
 * Throws a TypeError unless `options` is a plain options object whose every own key is one of
 * `names` (or of `ignored`): a typo such as `waitTimout` would otherwise be silently ignored.
 * `label` starts the message, e.g. `'@WithLock option'`.
 */
export function assertKnownOptions(
  options: unknown,
  names: readonly string[],
  label: string,
  ignored: readonly string[] = [],
): asserts options is Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${label}s must be an object, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (names.includes(key) || ignored.includes(key)) continue;
    const guess = closestName(key, names);
    throw new TypeError(
      `Unknown ${label} \`${key}\`` +
        (guess ? `: did you mean \`${guess}\`?` : '.') +
        ` Valid options: ${names.join(', ')}.`,
    );
  }
}
