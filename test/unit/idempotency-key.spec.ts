import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../../lib/distributed-lock.constants';
import { headerValues, parseIdempotencyKey } from '../../lib/idempotency/idempotency-key';

describe('parseIdempotencyKey', () => {
  it('accepts a quoted sf-string and returns it without the quotes', () => {
    expect(parseIdempotencyKey(['"8e03978e-40d5-43e8-bc93-6894a57f9324"'])).toEqual({
      key: '8e03978e-40d5-43e8-bc93-6894a57f9324',
    });
  });

  it('unescapes \\" and \\\\ in a quoted sf-string', () => {
    expect(parseIdempotencyKey(['"a\\"b\\\\c"'])).toEqual({ key: 'a"b\\c' });
  });

  it('keeps spaces inside a quoted sf-string', () => {
    expect(parseIdempotencyKey(['" a b "'])).toEqual({ key: ' a b ' });
  });

  it('refuses an sf-string escape other than \\" and \\\\', () => {
    expect(parseIdempotencyKey(['"a\\nb"'])).toEqual({ problem: 'invalid' });
  });

  it('refuses an unescaped quote or backslash inside a quoted sf-string', () => {
    expect(parseIdempotencyKey(['"a"b"'])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey(['"a\\"'])).toEqual({ problem: 'invalid' });
  });

  it('accepts a bare value, as most clients send it', () => {
    expect(parseIdempotencyKey(['abc-123'])).toEqual({ key: 'abc-123' });
    expect(parseIdempotencyKey(['a b'])).toEqual({ key: 'a b' });
    expect(parseIdempotencyKey(['a"b'])).toEqual({ key: 'a"b' });
  });

  it('trims the whitespace around the value', () => {
    expect(parseIdempotencyKey(['  abc \t'])).toEqual({ key: 'abc' });
    expect(parseIdempotencyKey([' "abc" '])).toEqual({ key: 'abc' });
  });

  it('reports no header, an empty one and a blank one as missing', () => {
    expect(parseIdempotencyKey([])).toEqual({ problem: 'missing' });
    expect(parseIdempotencyKey([''])).toEqual({ problem: 'missing' });
    expect(parseIdempotencyKey(['   '])).toEqual({ problem: 'missing' });
  });

  it('refuses an empty quoted string', () => {
    expect(parseIdempotencyKey(['""'])).toEqual({ problem: 'invalid' });
  });

  it(`accepts ${MAX_IDEMPOTENCY_KEY_LENGTH} characters and refuses one more, bare or quoted`, () => {
    expect(MAX_IDEMPOTENCY_KEY_LENGTH).toBe(255);
    const longest = 'k'.repeat(255);
    expect(parseIdempotencyKey([longest])).toEqual({ key: longest });
    expect(parseIdempotencyKey([`"${longest}"`])).toEqual({ key: longest });
    expect(parseIdempotencyKey(['k'.repeat(256)])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey([`"${'k'.repeat(256)}"`])).toEqual({ problem: 'invalid' });
  });

  it('counts the unescaped key against the limit, not the quoted text', () => {
    // 255 characters once unescaped, 510 + 2 as sent.
    const escaped = `"${'\\"'.repeat(255)}"`;
    expect(parseIdempotencyKey([escaped])).toEqual({ key: '"'.repeat(255) });
  });

  it('refuses non-ASCII characters, bare or quoted', () => {
    expect(parseIdempotencyKey(['clé'])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey(['"clé"'])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey(['key-✓'])).toEqual({ problem: 'invalid' });
  });

  it('refuses control characters inside the value, bare or quoted', () => {
    for (const control of ['\t', '\x00', '\x1f', '\x7f', '\n']) {
      expect(parseIdempotencyKey([`a${control}b`])).toEqual({ problem: 'invalid' });
      expect(parseIdempotencyKey([`"a${control}b"`])).toEqual({ problem: 'invalid' });
    }
  });

  it('refuses a header sent twice, even with the same value', () => {
    expect(parseIdempotencyKey(['a', 'b'])).toEqual({ problem: 'repeated' });
    expect(parseIdempotencyKey(['a', 'a'])).toEqual({ problem: 'repeated' });
    expect(parseIdempotencyKey(['', 'a'])).toEqual({ problem: 'repeated' });
  });

  it('refuses a value that starts with a quote but is no sf-string', () => {
    expect(parseIdempotencyKey(['"abc'])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey(['"abc" x'])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey(['"'])).toEqual({ problem: 'invalid' });
  });
});

describe('headerValues', () => {
  const raw = [
    'Host',
    'example.test',
    'Idempotency-Key',
    'first',
    'content-type',
    'application/json',
    'IDEMPOTENCY-KEY',
    'second',
  ];

  it('returns every value sent under the name, in order, matching the name case-blind', () => {
    expect(headerValues(raw, 'idempotency-key')).toEqual(['first', 'second']);
    expect(headerValues(raw, 'Idempotency-Key')).toEqual(['first', 'second']);
  });

  it('returns an empty list for a header that was not sent, or no header list', () => {
    expect(headerValues(raw, 'X-Request-Id')).toEqual([]);
    expect(headerValues(undefined, 'Idempotency-Key')).toEqual([]);
    expect(headerValues([], 'Idempotency-Key')).toEqual([]);
  });

  it('keeps empty values: a sent empty header counts', () => {
    expect(headerValues(['Idempotency-Key', ''], 'idempotency-key')).toEqual(['']);
  });

  it('reads names only at even positions, never a value that looks like the name', () => {
    expect(headerValues(['X-Name', 'Idempotency-Key', 'Other', 'v'], 'idempotency-key')).toEqual(
      [],
    );
  });

  it('ignores a trailing name without a value', () => {
    expect(headerValues(['Idempotency-Key', 'a', 'Idempotency-Key'], 'idempotency-key')).toEqual([
      'a',
    ]);
  });

  it('with parseIdempotencyKey, refuses a repeated header that Node would join with a comma', () => {
    expect(parseIdempotencyKey(headerValues(raw, 'idempotency-key'))).toEqual({
      problem: 'repeated',
    });
  });
});
