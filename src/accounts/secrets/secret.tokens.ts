import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { OPAQUE_TOKEN_BYTES } from '../../common/auth/opaque-token';

const SEAL_INFO = 'atiru refresh-token successor v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface GeneratedToken {
  /** What the client receives, once. */
  token: string;
  /** What the database keeps. */
  hash: string;
}

/**
 * The randomness and hashing behind every opaque token (refresh, confirmation, reset): 256 random
 * bits, base64url, stored only as SHA-256 (the tokens carry enough entropy that a slow hash adds
 * nothing). Behind an injectable so the rest of the code never touches `node:crypto` directly.
 */
@Injectable()
export class SecretTokens {
  generate(): GeneratedToken {
    const token = randomBytes(OPAQUE_TOKEN_BYTES).toString('base64url');
    return { token, hash: this.hash(token) };
  }

  hash(token: string): string {
    return createHash('sha256').update(token, 'utf8').digest('hex');
  }

  /**
   * Encrypts `secret` under a key derived from `keyToken` (HKDF, so the key is not the stored
   * SHA-256 of `keyToken`): whoever can read the database but does not hold `keyToken` cannot open it.
   */
  seal(secret: string, keyToken: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey(keyToken), iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** Answers null when `keyToken` is not the token the value was sealed under. */
  open(sealed: Buffer, keyToken: string): string | null {
    if (sealed.length <= IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealKey(keyToken), sealed.subarray(0, IV_BYTES));
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  private sealKey(keyToken: string): Buffer {
    return Buffer.from(hkdfSync('sha256', Buffer.from(keyToken, 'utf8'), Buffer.alloc(0), SEAL_INFO, 32));
  }
}
