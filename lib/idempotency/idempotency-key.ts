import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../distributed-lock.constants';

/** Why a request's key was refused; the key's value is never part of it. */
export type KeyProblem = 'missing' | 'repeated' | 'invalid';

export type ParsedKey = { readonly key: string } | { readonly problem: KeyProblem };

/** sf-string characters (RFC 8941): printable ASCII; '"' and '\' only escaped. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
/** A bare key: printable ASCII, no leading quote (that would be a malformed sf-string). */
const BARE = /^[\x21\x23-\x7e][\x20-\x7e]*$/;

/**
 * The client's key from the header's values (`rawValues`: every line the request sent with
 * that name). Accepts the draft's quoted sf-string (`"abc"`) and the bare value most clients
 * send (`abc`); 1 to 255 printable ASCII characters, once.
 */
export function parseIdempotencyKey(rawValues: readonly string[]): ParsedKey {
  if (rawValues.length === 0) return { problem: 'missing' };
  if (rawValues.length > 1) return { problem: 'repeated' };
  const value = rawValues[0].trim();
  if (value === '') return { problem: 'missing' };
  let key: string;
  const quoted = SF_STRING.exec(value);
  if (quoted) key = quoted[1].replace(/\\(["\\])/g, '$1');
  else if (BARE.test(value)) key = value;
  else return { problem: 'invalid' };
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return { problem: 'invalid' };
  return { key };
}

/** Every value of header `name` in Node's raw header list (names compared case-blind). */
export function headerValues(rawHeaders: readonly string[] | undefined, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  if (!rawHeaders) return values;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === wanted) values.push(rawHeaders[i + 1]);
  }
  return values;
}
