import { createHash } from 'node:crypto';
import { canonicalJson, fingerprintOf } from '../../lib/idempotency/fingerprint';

describe('fingerprintOf', () => {
  it('is the SHA-256 of the canonical JSON, in hex', () => {
    expect(fingerprintOf({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf({ b: 2, a: 1 })).toBe(
      createHash('sha256').update('{"a":1,"b":2}').digest('hex'),
    );
  });

  it('gives the same data in another key order the same fingerprint', () => {
    expect(fingerprintOf({ sku: 'A', qty: 2 })).toBe(fingerprintOf({ qty: 2, sku: 'A' }));
    expect(canonicalJson({ b: 1, a: 2, c: 3 })).toBe('{"a":2,"b":1,"c":3}');
  });

  it('sorts keys at every depth, inside arrays too', () => {
    const one = { order: { lines: [{ sku: 'A', qty: 1 }], to: { zip: '1', city: 'X' } }, id: 7 };
    const two = { id: 7, order: { to: { city: 'X', zip: '1' }, lines: [{ qty: 1, sku: 'A' }] } };
    expect(fingerprintOf(one)).toBe(fingerprintOf(two));
    expect(canonicalJson(two)).toBe(
      '{"id":7,"order":{"lines":[{"qty":1,"sku":"A"}],"to":{"city":"X","zip":"1"}}}',
    );
  });

  it('tells different data apart', () => {
    expect(fingerprintOf({ qty: 1 })).not.toBe(fingerprintOf({ qty: 2 }));
    expect(fingerprintOf({ qty: 1 })).not.toBe(fingerprintOf({ qty: '1' }));
    expect(fingerprintOf({ a: { b: 1 } })).not.toBe(fingerprintOf({ a: { c: 1 } }));
  });

  it('keeps the order of array items', () => {
    expect(fingerprintOf([1, 2])).not.toBe(fingerprintOf([2, 1]));
    expect(fingerprintOf({ lines: ['a', 'b'] })).not.toBe(fingerprintOf({ lines: ['b', 'a'] }));
  });

  it('counts undefined as null at the top and in arrays (no body is a null body)', () => {
    expect(canonicalJson(undefined)).toBe('null');
    expect(fingerprintOf(undefined)).toBe(fingerprintOf(null));
    expect(canonicalJson([1, undefined])).toBe('[1,null]');
    expect(fingerprintOf([undefined])).toBe(fingerprintOf([null]));
  });

  it('drops an undefined property as JSON does, so it differs from a null one', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(fingerprintOf({ a: undefined })).toBe(fingerprintOf({}));
    expect(fingerprintOf({ a: undefined })).not.toBe(fingerprintOf({ a: null }));
  });

  it('writes a bigint as its decimal text instead of throwing', () => {
    expect(canonicalJson({ n: 12345678901234567890n })).toBe('{"n":"12345678901234567890"}');
    expect(fingerprintOf({ n: 1n })).not.toBe(fingerprintOf({ n: 2n }));
    expect(fingerprintOf([10n])).toBe(fingerprintOf(['10']));
  });

  it('uses toJSON where there is one: a Date is its ISO text', () => {
    const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(canonicalJson({ at })).toBe('{"at":"2024-01-02T03:04:05.000Z"}');
    expect(fingerprintOf({ at })).toBe(fingerprintOf({ at: '2024-01-02T03:04:05.000Z' }));
    expect(fingerprintOf({ at })).not.toBe(fingerprintOf({ at: new Date(0) }));
  });

  it('sorts the keys of what toJSON returns', () => {
    const money = { toJSON: () => ({ currency: 'EUR', amount: 5 }) };
    expect(canonicalJson({ price: money })).toBe('{"price":{"amount":5,"currency":"EUR"}}');
  });

  it('tells Maps and Sets apart by their contents', () => {
    expect(fingerprintOf(new Map([['a', 1]]))).not.toBe(fingerprintOf(new Map([['a', 2]])));
    expect(fingerprintOf(new Set([1]))).not.toBe(fingerprintOf(new Set([2])));
  });

  it('calls toJSON once, as JSON.stringify does, when it returns the object itself', () => {
    const self = {
      b: 2,
      a: 1,
      toJSON() {
        return this;
      },
    };
    expect(canonicalJson(self)).toBe('{"a":1,"b":2}');
  });

  it('throws a TypeError on a circular structure, in an object or in an array', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    expect(() => fingerprintOf(loop)).toThrow(TypeError);
    expect(() => fingerprintOf(loop)).toThrow(
      'The idempotency fingerprint is a circular structure.',
    );
    const list: unknown[] = [];
    list.push({ back: list });
    expect(() => fingerprintOf(list)).toThrow(TypeError);
  });

  it('accepts an object seen twice without a cycle', () => {
    const shared = { sku: 'A' };
    expect(canonicalJson({ first: shared, second: [shared, shared] })).toBe(
      '{"first":{"sku":"A"},"second":[{"sku":"A"},{"sku":"A"}]}',
    );
  });

  it('leaves strings, numbers and booleans as JSON writes them', () => {
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(1.5)).toBe('1.5');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson({ n: NaN })).toBe('{"n":null}');
  });
});
