import { createPublicKey, KeyObject } from 'node:crypto';

/** One of GitHub's secret-scanning verification keys, as GitHub publishes it. */
export interface SecretScanningKey {
  keyIdentifier: string;
  /** The public key (PEM), ECDSA P-256. */
  key: KeyObject;
  isCurrent: boolean;
}

/** True when GITHUB_SECRET_SCANNING_KEYS holds the keys themselves rather than the path of a file with them. */
export function isInlineKeys(value: string): boolean {
  return value.startsWith('{') || value.startsWith('[');
}

/**
 * Reads the document https://api.github.com/meta/public_keys/secret_scanning serves
 * (`{ "public_keys": [{ "key_identifier", "key", "is_current" }] }`), or its bare array. Throws
 * an Error that says what is wrong; every listed key is used, current or not, since reports
 * signed with a key that was just retired may still be in flight.
 */
export function parseSecretScanningKeys(text: string): SecretScanningKey[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('is not JSON');
  }
  const list = Array.isArray(document) ? document : (document as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list) || list.length === 0) throw new Error('must list at least one key: { "public_keys": [{ "key_identifier", "key", "is_current" }] }');
  return list.map((entry: unknown, index) => {
    const { key_identifier: keyIdentifier, key, is_current: isCurrent } = (entry ?? {}) as Record<string, unknown>;
    if (typeof keyIdentifier !== 'string' || keyIdentifier === '') throw new Error(`key ${index} has no key_identifier`);
    if (typeof key !== 'string') throw new Error(`key ${keyIdentifier} has no PEM key`);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(key.replace(/\\n/g, '\n'));
    } catch {
      throw new Error(`key ${keyIdentifier} is not a PEM public key`);
    }
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`key ${keyIdentifier} is not an ECDSA P-256 key`);
    }
    return { keyIdentifier, key: publicKey, isCurrent: isCurrent === true };
  });
}
