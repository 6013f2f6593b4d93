import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The API key format: `atiru_` + 32 random base62 characters + 6 base62 characters of the CRC32
 * of the random part. The fixed prefix lets secret scanners recognise a leaked key; the checksum
 * lets the service reject a mistyped or made-up key without touching the database.
 */
export const API_KEY_PREFIX = 'atiru_';
export const API_KEY_RANDOM_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + API_KEY_RANDOM_LENGTH + API_KEY_CHECKSUM_LENGTH;
/** `key_prefix`: what lists and logs show of a key (`atiru_` + 4). */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 10;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Bytes at or above 248 (= 4 × 62) are discarded, so every character is equally likely. */
const UNBIASED_LIMIT = 256 - (256 % BASE62.length);
const BASE62_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < BASE62.length; index++) BASE62_VALUE[BASE62.charCodeAt(index)] = index;

export interface ParsedApiKey {
  /** The whole key, as presented. */
  key: string;
  /** Its first 10 characters: safe to show and to log. */
  prefix: string;
}

/** `n` uniformly random base62 characters drawn from `random` (crypto by default). */
export function randomBase62(length: number, random: (size: number) => Buffer = randomBytes): string {
  let out = '';
  while (out.length < length) {
    // 62/256 of the bytes are rejected at most, so asking for a little more than needed rarely loops.
    const bytes = random(Math.ceil((length - out.length) * 1.1) + 4);
    for (let index = 0; index < bytes.length && out.length < length; index++) {
      const byte = bytes[index];
      if (byte < UNBIASED_LIMIT) out += BASE62[byte % BASE62.length];
    }
  }
  return out;
}

/** The CRC32 of `text`, as exactly 6 base62 characters (zero-padded; 62^6 > 2^32). */
export function checksum(text: string): string {
  let value = crc32(text);
  let out = '';
  for (let index = 0; index < API_KEY_CHECKSUM_LENGTH; index++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** A new key. Shown once to its owner; the service keeps only its hash. */
export function generateApiKey(random: (size: number) => Buffer = randomBytes): ParsedApiKey {
  const body = randomBase62(API_KEY_RANDOM_LENGTH, random);
  const key = API_KEY_PREFIX + body + checksum(body);
  return { key, prefix: key.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH) };
}

/** True when `value` claims to be an API key (whether or not it is a well-formed one). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/**
 * Checks shape and checksum, without any I/O. Null for anything that cannot be a key this
 * service issued: wrong length, a character outside base62, or a checksum that does not match.
 */
export function parseApiKey(value: string): ParsedApiKey | null {
  if (value.length !== API_KEY_LENGTH || !value.startsWith(API_KEY_PREFIX)) return null;
  for (let index = API_KEY_PREFIX.length; index < API_KEY_LENGTH; index++) {
    const code = value.charCodeAt(index);
    if (code >= 128 || BASE62_VALUE[code] < 0) return null;
  }
  const body = value.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + API_KEY_RANDOM_LENGTH);
  if (value.slice(API_KEY_PREFIX.length + API_KEY_RANDOM_LENGTH) !== checksum(body)) return null;
  return { key: value, prefix: value.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH) };
}

/** What the database stores and the caches are keyed by: the SHA-256 of the whole key, hex. */
export function hashApiKey(key: string): string {
  // The one-shot form: no Hash object per authenticated request.
  return hash('sha256', key, 'hex');
}
