/** How a response body is kept, so a replay sends the same bytes with the same content type. */
export type StoredBody =
  | { readonly t: 'json'; readonly v: unknown }
  | { readonly t: 'text'; readonly v: string }
  | { readonly t: 'bytes'; readonly v: string }
  | { readonly t: 'none' };

/** A completed outcome as the store keeps it (JSON, version 1). */
export interface StoredResponse {
  readonly v: 1;
  readonly status: number;
  /** Allowed response headers only, by lower-case name. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: StoredBody;
  /** Came from a thrown `HttpException`: the replay throws one too, for the filters. */
  readonly thrown: boolean;
}

/** Response headers a replay repeats; never `set-cookie` or anything about the connection. */
export const REPLAYED_HEADERS = [
  'content-type',
  'location',
  'etag',
  'last-modified',
  'content-language',
] as const;

export const REPLAYED_MARK_HEADER = 'Idempotent-Replayed';

/** The body as kept; `undefined` when it cannot be kept whole (a stream, a cycle). */
export function storedBody(body: unknown): StoredBody | undefined {
  if (body === undefined || body === null) return { t: 'none' };
  if (typeof body === 'string') return { t: 'text', v: body };
  if (Buffer.isBuffer(body)) return { t: 'bytes', v: body.toString('base64') };
  if (isStream(body)) return undefined;
  try {
    const text = JSON.stringify(body);
    return text === undefined ? { t: 'none' } : { t: 'json', v: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

export function bodyValue(body: StoredBody): unknown {
  switch (body.t) {
    case 'json':
    case 'text':
      return body.v;
    case 'bytes':
      return Buffer.from(body.v, 'base64');
    default:
      return undefined;
  }
}

export function serializeResponse(response: StoredResponse): string {
  return JSON.stringify(response);
}

/** The stored outcome, or `undefined` when the record cannot be read back. */
export function parseResponse(text: string): StoredResponse | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Partial<StoredResponse>;
  const validBody =
    typeof r.body === 'object' &&
    r.body !== null &&
    ['json', 'text', 'bytes', 'none'].includes(r.body.t) &&
    (r.body.t === 'none' || r.body.t === 'json' || typeof r.body.v === 'string');
  if (
    r.v !== 1 ||
    !Number.isInteger(r.status) ||
    typeof r.headers !== 'object' ||
    r.headers === null ||
    !validBody ||
    typeof r.thrown !== 'boolean'
  ) {
    return undefined;
  }
  return r as StoredResponse;
}

/** Streams (a `StreamableFile`, a Node stream, an SSE Observable's source) are never replayable. */
export function isStream(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const candidate = body as { pipe?: unknown; getStream?: unknown };
  return typeof candidate.pipe === 'function' || typeof candidate.getStream === 'function';
}

/**
 * The stored form of an outcome, serialised in one pass (the body once); `undefined` when the
 * body cannot be kept whole (a stream, a cycle, a bigint).
 */
export function serializeOutcome(
  status: number,
  headers: Readonly<Record<string, string>>,
  value: unknown,
  thrown: boolean,
): string | undefined {
  let body: string;
  if (value === undefined || value === null) body = '{"t":"none"}';
  else if (typeof value === 'string') body = `{"t":"text","v":${JSON.stringify(value)}}`;
  else if (Buffer.isBuffer(value)) body = `{"t":"bytes","v":"${value.toString('base64')}"}`;
  else if (isStream(value)) return undefined;
  else {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      return undefined;
    }
    body = text === undefined ? '{"t":"none"}' : `{"t":"json","v":${text}}`;
  }
  return `{"v":1,"status":${status},"headers":${JSON.stringify(headers)},"body":${body},"thrown":${thrown}}`;
}
