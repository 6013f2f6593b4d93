import { Injectable } from '@nestjs/common';
import { createHmac, createSecretKey, hkdfSync, KeyObject, randomBytes } from 'node:crypto';
import { AppConfig, isPlaceholderSecret } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { asciiDomainOf, normalizeEmail } from '../email-address';

const INFO = 'atiru log fingerprint v1';

/**
 * Short keyed hashes (HMAC-SHA-256) that let log lines about one email be correlated without
 * naming it. A plain hash would not do: emails are guessable, and anyone with the logs could hash
 * a list of them and look for matches. The key is LOG_FINGERPRINT_SECRET, or derived (HKDF) from
 * SIGNING_KEY_ENCRYPTION_SECRET, so it never equals a key used for anything else.
 */
@Injectable()
export class LogFingerprint {
  private readonly key: KeyObject;

  constructor(@InjectConfig() config: AppConfig) {
    this.key = createSecretKey(Buffer.from(hkdfSync('sha256', secretOf(config), Buffer.alloc(0), INFO, 32)));
  }

  of(value: string): string {
    return createHmac('sha256', this.key).update(value, 'utf8').digest('hex').slice(0, 16);
  }

  /**
   * An address as log lines name it: its domain, and its keyed hash to correlate the lines about
   * it. Without case, as addresses are compared: one stored with capitals is the same address.
   * The domain in its ASCII form (`asciiDomainOf`), so that look-alike letters cannot pass for
   * another domain in an operator's view.
   */
  email(email: string): { email_domain: string; email_hash: string } {
    return { email_domain: asciiDomainOf(email), email_hash: this.of(normalizeEmail(email)) };
  }
}

/**
 * Production may run on SIGNING_KEY_PEM with a placeholder encryption secret left in place (one
 * production would refuse without the PEM): then a random key per process, whose fingerprints
 * correlate within one instance only, rather than a key anyone could guess.
 */
function secretOf(config: AppConfig): string {
  if (config.logFingerprintSecret) return config.logFingerprintSecret;
  const secret = config.tokens.signingKeyEncryptionSecret;
  if (config.env === 'production' && isPlaceholderSecret(secret)) return randomBytes(32).toString('base64url');
  return secret;
}
