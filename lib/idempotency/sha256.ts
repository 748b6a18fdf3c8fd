import * as crypto from 'node:crypto';

type Encoding = 'hex' | 'base64url';

/** One-shot `crypto.hash` (Node 20.12+) where there is one: no Hash object per call. */
const oneShot = (
  crypto as { hash?: (algorithm: string, data: string, encoding: Encoding) => string }
).hash;

export function sha256(text: string, encoding: Encoding): string {
  if (oneShot) return oneShot('sha256', text, encoding);
  return crypto.createHash('sha256').update(text).digest(encoding);
}
