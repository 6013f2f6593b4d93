import { Injectable } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { SigningKeyRing } from '../keys/signing-key.ring';
import { SIGNING_ALGORITHM } from '../keys/signing-key-material';
import { AccessTokenClaims } from './access-token-claims';

export interface IssuedAccessToken {
  access_token: string;
  /** Lifetime in seconds. */
  expires_in: number;
  /** Expiry as Unix epoch seconds. */
  expires_at: number;
}

/** Signs access tokens for a session with the current signing key. */
@Injectable()
export class AccessTokenService {
  private readonly issuer: string;
  private readonly audience: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly keys: SigningKeyRing,
    @InjectConfig() config: AppConfig,
  ) {
    this.issuer = config.tokens.issuer;
    this.audience = config.tokens.audience;
    this.ttlSeconds = config.tokens.accessTtlSeconds;
  }

  /**
   * `notAfterMs`: when the session can live no longer (its maximum lifetime, SESSION_MAX_LIFETIME_SECONDS);
   * a token issued less than its lifetime before that ends with the session instead.
   */
  issue(user: { id: string; email: string }, sessionId: string, notAfterMs = Infinity): IssuedAccessToken {
    const { kid, privateKey } = this.keys.signingKey();
    const iat = Math.floor(Date.now() / 1000);
    const exp = Math.min(iat + this.ttlSeconds, Math.floor(notAfterMs / 1000));
    const claims: AccessTokenClaims = { iss: this.issuer, aud: this.audience, sub: user.id, email: user.email, sid: sessionId, iat, exp };
    const accessToken = sign(claims, privateKey, { algorithm: SIGNING_ALGORITHM, keyid: kid });
    return { access_token: accessToken, expires_in: exp - iat, expires_at: exp };
  }
}
