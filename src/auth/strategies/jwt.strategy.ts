import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { hash, KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BudgetedCache, CacheSlot, HEAP_NUMBER_BYTES, MAP_ENTRY_BYTES, MemoryBudget, objectBytes, stringBytes } from '../../common/cache/memory.budget';
import { Strategy } from 'passport-jwt';
import { bearerCredential } from '../../common/auth/bearer';
import { Principal } from '../../common/auth/principal';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { UsersService } from '../../users/users.service';
import { AppPassport, MemoryFirstStrategy } from '../guards/app.passport';
import { SigningKeyRing } from '../keys/signing-key.ring';
import { SIGNING_ALGORITHM } from '../keys/signing-key-material';
import { AccessTokenClaims, accessTokenClaimsProblem } from '../tokens/access-token-claims';
import { AccessTokenSessions } from '../tokens/access-token.sessions';
import { SessionLease } from '../tokens/session-leases';

export const JWT_STRATEGY = 'jwt';


/** Failure reasons; they reach the warn log, never the response. */
const NO_KID = new Error('token header names no kid');
const UNKNOWN_KID = new Error('token names an unknown kid');
const NO_LIVE_SESSION = { message: 'the session of the token is revoked or expired, or its user no longer exists' };
const KEY_RETIRED = { message: 'the key that signed the token has retired' };

/**
 * @types/passport-jwt types the key as string | Buffer, but passport-jwt hands it unchanged to
 * jsonwebtoken, which takes a KeyObject: the one parsed at load, not a PEM parsed per request.
 */
type KeyCallback = (error: Error | null, key?: KeyObject | any) => void;

/**
 * Verifies `Authorization: Bearer <jwt>`: ES256 only, our issuer and audience, the key its `kid`
 * names, not expired; then loads the user. Anything else fails, so the guard moves on to the
 * next strategy or answers 401. A database failure is an error, never a failure.
 *
 * Memory first: a token this instance verified before is answered from `verified` by the guard
 * (`fromMemory`), without running passport.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) implements MemoryFirstStrategy {
  /**
   * Tokens this instance has verified, until their `exp`: a token seen before skips the ES256
   * check (the main per-request cost). Only tokens that passed every check enter; a hit still
   * checks `exp` and that its key has not retired, and needs its user in the users cache: else
   * the strategy runs in full.
   *
   * Keyed by the SHA-256 of the whole token (`tokenDigest`): a hit must be the very token that
   * was verified, since a signature does not bind a different header and payload to itself and a
   * checksum of them (a CRC) can be matched at will; a token that would fail verification is never
   * answered from memory, nor can it evict one that passed. The digest rather than the token itself
   * keeps an entry small: the token is most of a kilobyte, and the cache is sized by memory.
   */
  private readonly verified: BudgetedCache<string, VerifiedToken>;
  /** The few `kid`s of verified tokens, so that every entry shares one string per key. */
  private readonly kids = new Map<string, string>();
  /** Whether the signing keys are kept in the database (not SIGNING_KEY_PEM), where a token's first check asks after its key too. */
  private readonly keysInDatabase: boolean;

  constructor(
    private readonly keys: SigningKeyRing,
    private readonly users: UsersService,
    private readonly sessions: AccessTokenSessions,
    @InjectConfig() config: AppConfig,
    passport: AppPassport,
    budget: MemoryBudget,
  ) {
    super({
      passReqToCallback: true,
      // The same reading of the header as the memory-first path's, rather than passport-jwt's own.
      jwtFromRequest: (request: { headers: IncomingHttpHeaders }) => readBearerJwt(request.headers) ?? null,
      secretOrKeyProvider: (_request: unknown, token: string, done: KeyCallback) => {
        const kid = readKid(token);
        if (kid === undefined) return done(NO_KID);
        const key = keys.verificationKey(kid);
        if (key !== undefined) return done(null, key);
        keys.resolveUnknownKid(kid).then(
          (found) => (found === undefined ? done(UNKNOWN_KID) : done(null, found)),
          // passport-jwt turns this into a failure; the guard sees it is an outage and answers 503.
          (error: Error) => done(error),
        );
      },
      algorithms: [SIGNING_ALGORITHM],
      issuer: config.tokens.issuer,
      audience: config.tokens.audience,
    });
    this.verified = new BudgetedCache(budget, (digest, entry) => weighVerifiedToken(digest, entry));
    this.keysInDatabase = !config.tokens.signingKeyPem;
    passport.use(JWT_STRATEGY, this);
  }

  /** The token of `Authorization: Bearer <header>.<payload>.<signature>`: something this strategy can verify. */
  credentialIn(headers: IncomingHttpHeaders): string | undefined {
    return readBearerJwt(headers);
  }

  /** The principal of a token this instance verified, when its user is in memory too. */
  fromMemory(token: string): Principal | undefined {
    const hit = this.knownToken(token);
    return hit === undefined ? undefined : this.cachedPrincipal(hit);
  }

  async validate(request: { headers: IncomingHttpHeaders }, claims: AccessTokenClaims): Promise<Principal | [false, { message: string }]> {
    const problem = accessTokenClaimsProblem(claims, Date.now() / 1000);
    if (problem !== undefined) return [false, { message: problem }];
    const token = readBearerJwt(request.headers);
    const kid = token === undefined ? undefined : readKid(token);
    // The session's read asks after the key too: a key retired at once is refused here even by an
    // instance whose key ring has not heard of it yet (decision 028), at no statement more.
    const admitted = await this.sessions.admit(claims, this.keysInDatabase ? kid : undefined);
    if (admitted === 'no_live_session') return [false, NO_LIVE_SESSION];
    if (admitted === 'key_retired') {
      // This ring still verifies with it, so it missed the retirement: its JWKS and its signing catch up now.
      if (kid !== undefined) this.keys.retiredElsewhere(kid);
      return [false, KEY_RETIRED];
    }
    // Remembered under the digest of the whole token, since a hit must be this very token; runs once per token.
    if (token !== undefined && kid !== undefined) {
      this.verified.set(tokenDigest(token), {
        // The user's id as the users cache holds it, rather than a string of the token's own.
        sub: admitted.user.id,
        sid: claims.sid,
        kid: this.internKid(kid),
        iat: claims.iat,
        exp: claims.exp,
        expiresAtMs: admitted.liveUntilMs,
        lease: admitted.lease,
        cacheUsed: false,
        cacheSeq: 0,
      });
    }
    return { user: admitted.user, method: 'jwt', session_id: claims.sid, issued_at: claims.iat, expires_at: claims.exp };
  }

  /** A token this instance verified, unexpired, whose key still verifies and whose session may still be live; undefined otherwise. */
  private knownToken(token: string): VerifiedToken | undefined {
    const digest = tokenDigest(token);
    const hit = this.verified.get(digest);
    if (hit === undefined) return undefined;
    if (!hit.lease.live || hit.expiresAtMs <= Date.now() || this.keys.verificationKey(hit.kid) === undefined) {
      this.verified.delete(digest);
      return undefined;
    }
    return hit;
  }

  private internKid(kid: string): string {
    const known = this.kids.get(kid);
    if (known !== undefined) return known;
    // Only kids that verified a token come here, and retired ones are never many.
    if (this.kids.size >= 1000) this.kids.clear();
    this.kids.set(kid, kid);
    return kid;
  }

  /** One principal per token and user object, shared by the requests that carry both. */
  private cachedPrincipal(hit: VerifiedToken): Principal | undefined {
    const user = this.users.findCachedAuthenticatedUser(hit.sub);
    if (user === undefined) return undefined;
    if (hit.principal?.user !== user) hit.principal = Object.freeze({ user, method: 'jwt', session_id: hit.sid, issued_at: hit.iat, expires_at: hit.exp });
    return hit.principal;
  }
}

interface VerifiedToken extends CacheSlot {
  sub: string;
  sid: string;
  kid: string;
  /** The token's own claims, epoch seconds, for introspection. */
  iat: number;
  exp: number;
  /** The token's `exp` or its session's end, whichever comes first. */
  expiresAtMs: number;
  /**
   * The session check of the token rests on it: a hit counts only while it is live. It ends when
   * a revocation of the user's sessions is heard, or when revocations cannot be heard.
   */
  lease: SessionLease;
  principal?: Readonly<Principal>;
}

/**
 * What a verified token keeps alive: the Map slot, its digest, the entry and its session id (the
 * user id and the kid are shared), the expiry as a number, the principal its first hit makes, and
 * the user's session lease with its slot (shared by the user's tokens, counted with each).
 */
function weighVerifiedToken(digest: string, entry: VerifiedToken): number {
  const lease = MAP_ENTRY_BYTES + objectBytes(1) + stringBytes(entry.sub.length);
  const principal = objectBytes(3);
  return MAP_ENTRY_BYTES + stringBytes(digest.length) + objectBytes(10) + stringBytes(entry.sid.length) + HEAP_NUMBER_BYTES + principal + lease;
}

/** The SHA-256 of the whole token, base64url: what a verified token is remembered by. */
function tokenDigest(token: string): string {
  return hash('sha256', token, 'base64url');
}


/** The token of `Authorization: Bearer <header>.<payload>.<signature>`: something this strategy can verify. */
export function readBearerJwt(headers: IncomingHttpHeaders): string | undefined {
  const token = bearerCredential(headers.authorization);
  if (token === undefined) return undefined;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  return first > 0 && second > first + 1 && token.indexOf('.', second + 1) === -1 ? token : undefined;
}

/** The `kid` of a compact JWS header, read without verifying anything. */
function readKid(token: string): string | undefined {
  const end = token.indexOf('.');
  if (end <= 0) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString('utf8'));
    return typeof header?.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}
