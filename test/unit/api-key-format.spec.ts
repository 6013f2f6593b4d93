import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import {
  API_KEY_LENGTH,
  checksum,
  generateApiKey,
  hashApiKey,
  parseApiKey,
  randomBase62,
} from '../../src/api-keys/api-key-format';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A key built from fast-check's bytes instead of the system's randomness. */
const arbitraryKey = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => {
  let offset = 0;
  return generateApiKey((size) => {
    // Feed the generator the drawn bytes, then fall back to a fixed valid byte if it asks for more.
    const out = Buffer.alloc(size, 7);
    for (let index = 0; index < size && offset < bytes.length; index++) out[index] = bytes[offset++];
    return out;
  });
});

describe('API key format', () => {
  it('is atiru_ + 32 base62 + 6 base62 checksum characters, 44 in all, with a 10-character prefix', () => {
    const { key, prefix } = generateApiKey();
    expect(key).toMatch(/^atiru_[0-9A-Za-z]{38}$/);
    expect(key).toHaveLength(44);
    expect(API_KEY_LENGTH).toBe(44);
    expect(prefix).toBe(key.slice(0, 10));
    expect(key.slice(38)).toBe(checksum(key.slice(6, 38)));
  });

  it('writes the CRC32 in base62, zero-padded to 6 characters', () => {
    expect(checksum('')).toBe('000000'); // crc32('') = 0
    // crc32('123456789') = 0xCBF43926 = 3·62^5 + 45·62^4 + 35·62^3 + 27·62^2 + 22·62 + 14
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(checksum('123456789')).toBe('3jZRME');
    fc.assert(
      fc.property(fc.string({ minLength: 32, maxLength: 32 }), (body) => {
        const text = checksum(body);
        expect(text).toMatch(/^[0-9A-Za-z]{6}$/);
        let decoded = 0;
        for (const char of text) decoded = decoded * 62 + BASE62.indexOf(char);
        expect(decoded).toBe(crc32(body));
      }),
    );
  });

  it('generated keys always parse', () => {
    fc.assert(
      fc.property(arbitraryKey, ({ key, prefix }) => {
        expect(parseApiKey(key)).toEqual({ key, prefix });
      }),
      { numRuns: 500 },
    );
  });

  it('any single-character change fails the parse', () => {
    fc.assert(
      fc.property(
        arbitraryKey,
        fc.nat({ max: API_KEY_LENGTH - 1 }),
        fc.integer({ min: 0, max: 0xffff }),
        ({ key }, position, code) => {
          const replacement = String.fromCharCode(code);
          fc.pre(replacement !== key[position]);
          const changed = key.slice(0, position) + replacement + key.slice(position + 1);
          expect(parseApiKey(changed)).toBeNull();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a change to a base62 character in the random part is caught by the checksum alone', () => {
    fc.assert(
      fc.property(arbitraryKey, fc.integer({ min: 6, max: 37 }), fc.constantFrom(...BASE62), ({ key }, position, replacement) => {
        fc.pre(replacement !== key[position]);
        expect(parseApiKey(key.slice(0, position) + replacement + key.slice(position + 1))).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects wrong lengths, other prefixes and non-base62 characters', () => {
    const { key } = generateApiKey();
    expect(parseApiKey(key.slice(0, -1))).toBeNull();
    expect(parseApiKey(key + 'a')).toBeNull();
    expect(parseApiKey('')).toBeNull();
    expect(parseApiKey('atiru_')).toBeNull();
    expect(parseApiKey('ATIRU_' + key.slice(6))).toBeNull();
    expect(parseApiKey('atiru-' + key.slice(6))).toBeNull();
    expect(parseApiKey(key.slice(0, 20) + '-' + key.slice(21))).toBeNull();
    expect(parseApiKey(key.slice(0, 20) + 'é' + key.slice(21))).toBeNull();
  });

  it('draws characters uniformly (bytes 248..255 are discarded, not folded onto 0..7)', () => {
    // Every byte value once: a biased mapping would give '0'..'7' five times and the rest four.
    const all = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    let served = false;
    const text = randomBase62(248, (size) => {
      if (served) throw new Error(`asked for ${size} more bytes`);
      served = true;
      return all;
    });
    const counts = new Map<string, number>();
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    expect(new Set(counts.values())).toEqual(new Set([4]));
  });

  it('keeps drawing when bytes are rejected', () => {
    let calls = 0;
    const text = randomBase62(10, (size) => {
      calls++;
      return Buffer.alloc(size, calls < 3 ? 250 : 61);
    });
    expect(text).toBe('z'.repeat(10));
    expect(calls).toBe(3);
  });

  it('hashes the whole key with SHA-256, hex', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
