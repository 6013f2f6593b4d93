import { isUuid } from '../../common/http/uuid-param.pipe';

/** The claims of an access token (a JWT signed with ES256, `kid` in its header). */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  /** The user id. */
  sub: string;
  email: string;
  /** The session id. */
  sid: string;
  iat: number;
  exp: number;
}

/**
 * How far in the future an `iat` may lie: the clocks of the instances that sign and verify
 * differ a little, and a token signed a moment "later" than this clock says is still honest.
 */
export const IAT_CLOCK_SKEW_SECONDS = 60;

/**
 * Why verified claims are not those of an access token this service would sign, or undefined
 * when they are. The signature, issuer, audience and an `exp` in the past are checked before.
 */
export function accessTokenClaimsProblem(claims: Partial<Record<keyof AccessTokenClaims, unknown>>, nowSeconds: number): string | undefined {
  if (!isUuid(claims.sub)) return 'sub is not a user id';
  if (!isUuid(claims.sid)) return 'sid is not a session id';
  // jsonwebtoken lets a token without exp through: it would never expire.
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return 'the token has no exp';
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) return 'the token has no iat';
  if (claims.iat > nowSeconds + IAT_CLOCK_SKEW_SECONDS) return 'the token was issued in the future';
  return undefined;
}
