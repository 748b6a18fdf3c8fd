import { StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import {
  bodyValue,
  isStream,
  parseResponse,
  serializeResponse,
  storedBody,
  StoredResponse,
} from '../../lib/idempotency/stored-response';

describe('storedBody', () => {
  it('keeps a string as text, the empty string too', () => {
    expect(storedBody('accepted 1')).toEqual({ t: 'text', v: 'accepted 1' });
    expect(storedBody('')).toEqual({ t: 'text', v: '' });
  });

  it('keeps a Buffer as base64 bytes, and gives the same bytes back', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const body = storedBody(bytes);
    expect(body).toEqual({ t: 'bytes', v: bytes.toString('base64') });
    const back = bodyValue(body!);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect((back as Buffer).equals(bytes)).toBe(true);
  });

  it('keeps an object as the JSON it would be sent as', () => {
    const at = new Date(0);
    const body = storedBody({ order: 1, at, missing: undefined, lines: [{ sku: 'A' }] });
    expect(body).toEqual({
      t: 'json',
      v: { order: 1, at: '1970-01-01T00:00:00.000Z', lines: [{ sku: 'A' }] },
    });
  });

  it('keeps a copy: later changes to the object do not reach the stored body', () => {
    const value = { order: 1 };
    const body = storedBody(value);
    value.order = 2;
    expect(bodyValue(body!)).toEqual({ order: 1 });
  });

  it('keeps numbers, booleans and arrays as JSON', () => {
    expect(storedBody(0)).toEqual({ t: 'json', v: 0 });
    expect(storedBody(false)).toEqual({ t: 'json', v: false });
    expect(storedBody([1, 'a'])).toEqual({ t: 'json', v: [1, 'a'] });
  });

  it('keeps undefined and null as no body', () => {
    expect(storedBody(undefined)).toEqual({ t: 'none' });
    expect(storedBody(null)).toEqual({ t: 'none' });
    expect(bodyValue({ t: 'none' })).toBeUndefined();
  });

  it('cannot keep a stream: a Node stream or a StreamableFile', () => {
    const stream = Readable.from(['a', 'b']);
    expect(isStream(stream)).toBe(true);
    expect(storedBody(stream)).toBeUndefined();
    const file = new StreamableFile(Buffer.from('file'));
    expect(isStream(file)).toBe(true);
    expect(storedBody(file)).toBeUndefined();
    stream.destroy();
  });

  it('cannot keep a circular structure', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(storedBody(loop)).toBeUndefined();
  });

  it('cannot keep an object with a bigint (JSON.stringify throws)', () => {
    expect(storedBody({ n: 1n })).toBeUndefined();
  });

  it('does not take a plain object or a string for a stream', () => {
    expect(isStream({ order: 1 })).toBe(false);
    expect(isStream('text')).toBe(false);
    expect(isStream(null)).toBe(false);
  });
});

describe('parseResponse', () => {
  const stored: StoredResponse = {
    v: 1,
    status: 201,
    headers: { location: '/orders/1', 'content-type': 'application/json' },
    body: { t: 'json', v: { order: 1 } },
    thrown: false,
  };

  it('reads back what serializeResponse wrote, for every kind of body', () => {
    expect(parseResponse(serializeResponse(stored))).toEqual(stored);
    for (const body of [
      { t: 'text', v: 'ok' },
      { t: 'bytes', v: 'AAE=' },
      { t: 'none' },
      { t: 'json', v: null },
    ] as const) {
      const response = { ...stored, body, thrown: true };
      expect(parseResponse(serializeResponse(response))).toEqual(response);
    }
  });

  it.each([
    ['not JSON', 'not json'],
    ['empty text', ''],
    ['truncated JSON', serializeResponse(stored).slice(0, 20)],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"done"'],
    ['an array', '[1]'],
    ['an empty object', '{}'],
  ])('rejects %s', (_what, text) => {
    expect(parseResponse(text)).toBeUndefined();
  });

  const broken = (change: Record<string, unknown>): string =>
    JSON.stringify({ ...stored, ...change });

  it.each([
    ['another version', { v: 2 }],
    ['no version', { v: undefined }],
    ['a status that is no integer', { status: '201' }],
    ['a fractional status', { status: 201.5 }],
    ['null headers', { headers: null }],
    ['headers that are no object', { headers: 'location: /' }],
    ['no body', { body: undefined }],
    ['a null body', { body: null }],
    ['an unknown body kind', { body: { t: 'xml', v: '<a/>' } }],
    ['text that is no string', { body: { t: 'text', v: 5 } }],
    ['bytes that are no string', { body: { t: 'bytes', v: [1, 2] } }],
    ['no thrown flag', { thrown: undefined }],
    ['a thrown flag that is no boolean', { thrown: 'false' }],
  ])('rejects a record with %s', (_what, change) => {
    expect(parseResponse(broken(change))).toBeUndefined();
  });
});
