import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, randomBytes, scrypt, ScryptOptions } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

const VERSION = 'v1';
/** scrypt parameters of envelope v1 (32 MiB, well under a second); a new version may raise them. */
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const IV_BYTES = 12;

export class SigningKeyDecryptionError extends Error {
  constructor(readonly kid: string) {
    super(
      `Cannot decrypt signing key ${kid}: SIGNING_KEY_ENCRYPTION_SECRET is not the secret it was encrypted with. ` +
        'Restore that secret, or run "npm run keys:rotate -- --new-secret" under the new one to add a key it can decrypt ' +
        '(tokens signed by the old key keep verifying until they expire).',
    );
    this.name = 'SigningKeyDecryptionError';
  }
}

/**
 * Seals the private part of signing keys at rest: AES-256-GCM under a key derived with scrypt
 * from SIGNING_KEY_ENCRYPTION_SECRET and a per-key salt. The kid is authenticated data, so a
 * sealed key copied onto another row does not open.
 * Envelope: `v1.<salt>.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
@Injectable()
export class SigningKeyCipher {
  private readonly secret: string;

  constructor(@InjectConfig() config: AppConfig) {
    this.secret = config.tokens.signingKeyEncryptionSecret;
  }

  async seal(plaintext: string, kid: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.deriveKey(salt), iv);
    cipher.setAAD(Buffer.from(kid));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, salt, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  async open(envelope: string, kid: string): Promise<string> {
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new Error(`Signing key ${kid} is stored in an unknown format`);
    const [salt, iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', await this.deriveKey(salt), iv);
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SigningKeyDecryptionError(kid);
    }
  }

  private deriveKey(salt: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      scrypt(this.secret, salt, KEY_BYTES, SCRYPT, (error, key) => (error ? reject(error) : resolve(key)));
    });
  }
}
