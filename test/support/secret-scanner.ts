import { createHash, generateKeyPairSync, KeyObject, sign } from 'node:crypto';

/**
 * Plays GitHub secret scanning: an ECDSA P-256 key pair of the test's own, published as GitHub
 * publishes its keys (https://api.github.com/meta/public_keys/secret_scanning), and signatures
 * made as GitHub makes them: SHA-256 over the body exactly as sent, DER, base64.
 */
export class TestSecretScanner {
  readonly keyIdentifier: string;
  readonly publicKeyPem: string;
  private readonly privateKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.privateKey = privateKey;
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // GitHub's identifiers are 64 hex digits; a digest of the key makes one that is unique to it.
    this.keyIdentifier = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
  }

  /** GitHub's document listing `scanners`' public keys; the first is the current one. */
  static keysDocument(...scanners: TestSecretScanner[]): string {
    return JSON.stringify({
      public_keys: scanners.map((scanner, index) => ({ key_identifier: scanner.keyIdentifier, key: scanner.publicKeyPem, is_current: index === 0 })),
    });
  }

  /** The headers GitHub sends with `payload`, signed with this scanner's key. */
  sign(payload: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      'github-public-key-identifier': this.keyIdentifier,
      'github-public-key-signature': sign('sha256', Buffer.from(payload, 'utf8'), { key: this.privateKey, dsaEncoding: 'der' }).toString('base64'),
    };
  }
}
