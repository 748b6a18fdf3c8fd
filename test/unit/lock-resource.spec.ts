import { slotOf, tagForSlot } from '../../lib/stores/cluster-slot';
import { hashTag, lockResource } from '../../lib/stores/lock-resource';

/** What Redis Cluster hashes: the text from the first '{' to the next '}', unless empty. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** Every string over `alphabet` up to `maxLength` characters long, the empty one included. */
function* allStrings(alphabet: readonly string[], maxLength: number): Generator<string> {
  let layer = [''];
  yield '';
  for (let length = 1; length <= maxLength; length++) {
    layer = layer.flatMap((prefix) => alphabet.map((c) => prefix + c));
    yield* layer;
  }
}

/** The characters that matter to the encoding and to Cluster, and what an escape looks like. */
const TRICKY = ['%', '}', '{', '2', '5', '7', 'D', 'a'];
const AWKWARD_KEYS = ['}', '}a', 'a}b', '{x}', '%7D', '%', '', '{', '}}{{', 'order:7'];

describe('hashTag', () => {
  it('is injective: distinct keys never share a tag (every string up to 5 tricky characters)', () => {
    const keyOf = new Map<string, string>();
    let collisions = 0;
    for (const key of allStrings(TRICKY, 5)) {
      const tag = hashTag(key);
      if (keyOf.has(tag)) collisions++;
      keyOf.set(tag, key);
    }
    expect(keyOf.size).toBe(37449);
    expect(collisions).toBe(0);
  });

  it('never contains "}" and is never empty', () => {
    for (const key of allStrings(TRICKY, 4)) {
      const tag = hashTag(key);
      expect(tag).not.toContain('}');
      expect(tag.length).toBeGreaterThan(0);
    }
  });

  it('leaves keys without "%" or "}" as they are', () => {
    for (const key of ['order:7', '{', 'a{b', 'user:42:cart', 'ключ']) {
      expect(hashTag(key)).toBe(key);
    }
  });
});

describe('slotOf and tagForSlot', () => {
  it('computes the slots Redis Cluster documents', () => {
    // CLUSTER KEYSLOT somekey = 11058; {foo}... hashes "foo" = 12182; CRC16("123456789") = 0x31C3.
    expect(slotOf('somekey')).toBe(11058);
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('123456789')).toBe(0x31c3 % 16384);
  });

  it('has a short tag for every one of the 16384 slots', () => {
    for (let slot = 0; slot < 16384; slot++) {
      const tag = tagForSlot(slot);
      expect(tag.length).toBeLessThanOrEqual(4);
      if (slotOf(tag) !== slot) throw new Error(`tag ${tag} is not in slot ${slot}`);
    }
  });
});

describe('lockResource', () => {
  it.each(AWKWARD_KEYS)('puts every key and the channel of %p in one slot', (key) => {
    for (const [namespace, mode, permits] of [
      ['', 'x', 0],
      ['', 'r', 0],
      ['sem:', 's', 3],
    ] as const) {
      const resource = lockResource('lock:', namespace, key, mode, permits);
      const names = [...resource.storeKeys, ...resource.fastKeys, ...resource.holderKeys];
      for (const name of [...names, resource.channel]) {
        // Its own keys by its tag; the shared fencing counter by a tag of the same slot.
        if (name.startsWith('lock:fence{'))
          expect(slotOf(hashedPart(name))).toBe(slotOf(hashTag(key)));
        else expect(hashedPart(name)).toBe(hashTag(key));
      }
    }
  });

  it('gives distinct keys distinct ids', () => {
    const ids = new Set(AWKWARD_KEYS.map((key) => lockResource('lock:', '', key, 'x').id));
    expect(ids.size).toBe(AWKWARD_KEYS.length);
  });

  it('names the lock key alone for an exclusive holder, and a permit count for a semaphore', () => {
    const lock = lockResource('lock:', '', 'job', 'x');
    expect(lock.id).toBe('lock:{job}');
    expect(lock.holderKeys).toEqual(['lock:{job}']);
    expect(lock.storeKeys).toHaveLength(7);
    const semaphore = lockResource('lock:', 'sem:', 'pool', 's', 2);
    expect(semaphore.storeKeys).toHaveLength(8);
    expect(semaphore.storeKeys[7]).toBe('lock:sem:{pool}:permits');
  });
});
