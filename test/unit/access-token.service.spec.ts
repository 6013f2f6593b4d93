import { generateKeyPairSync } from 'node:crypto';
import { decode } from 'jsonwebtoken';
import { AccessTokenService } from '../../src/auth/tokens/access-token.service';
import { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { AppConfig } from '../../src/config/app-config';

describe('AccessTokenService', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = { signingKey: () => ({ kid: 'k1', privateKey }) } as unknown as SigningKeyRing;
  const config = { tokens: { issuer: 'https://auth.test', audience: 'atiru', accessTtlSeconds: 3600 } } as AppConfig;
  const service = new AccessTokenService(keys, config);
  const user = { id: '00000000-0000-4000-8000-000000000001', email: 'a@x.test' };

  it('issues a token for its whole lifetime when the session outlives it', () => {
    const issued = service.issue(user, 'sid-1', Date.now() + 90 * 86_400_000);
    const claims = decode(issued.access_token) as { iat: number; exp: number; sid: string };
    expect({ ttl: claims.exp - claims.iat, expires_in: issued.expires_in, expires_at: issued.expires_at, sid: claims.sid }).toEqual({
      ttl: 3600,
      expires_in: 3600,
      expires_at: claims.exp,
      sid: 'sid-1',
    });
  });

  it('ends a token with its session when the session reaches its maximum lifetime first', () => {
    const sessionEndsAtMs = Date.now() + 30 * 60_000;
    const issued = service.issue(user, 'sid-2', sessionEndsAtMs);
    const claims = decode(issued.access_token) as { iat: number; exp: number };
    expect(claims.exp).toBe(Math.floor(sessionEndsAtMs / 1000));
    expect(issued).toMatchObject({ expires_at: claims.exp, expires_in: claims.exp - claims.iat });
    expect(issued.expires_in).toBeLessThanOrEqual(1800);
    expect(issued.expires_in).toBeGreaterThan(1790);
  });
});
