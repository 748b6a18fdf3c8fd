/** Redis Cluster's hash slots: CRC16 (XMODEM) of the hash tag, modulo 16384. */
export const SLOT_COUNT = 16384;

const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: ArrayLike<number>): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  }
  return crc;
}

/** The slot of a key whose hash tag (the text between its braces) is `tag`. */
export function slotOf(tag: string): number {
  // ASCII (the usual key) needs no UTF-8 encoding.
  if (/^[\x00-\x7f]*$/.test(tag)) {
    let crc = 0;
    for (let i = 0; i < tag.length; i++) {
      crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ tag.charCodeAt(i)) & 0xff];
    }
    return crc % SLOT_COUNT;
  }
  return crc16(Buffer.from(tag, 'utf8')) % SLOT_COUNT;
}

/** Short hash tags by slot, found as they are first needed. */
const tags = new Array<string | undefined>(SLOT_COUNT);
let nextCandidate = 0;

/**
 * A short hash tag (base-36 digits) that maps to `slot`. Candidates are tried in order and every
 * slot they hit is remembered, so all 16384 are known after about 160,000 CRCs of 1 to 4 bytes.
 */
export function tagForSlot(slot: number): string {
  let found = tags[slot];
  while (found === undefined) {
    const candidate = (nextCandidate++).toString(36);
    const hit = slotOf(candidate);
    tags[hit] ??= candidate;
    found = tags[slot];
  }
  return found;
}
