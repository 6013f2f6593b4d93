import { Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '../../common/auth/principal';
import { UsersRepository } from '../../users/users.repository';
import { UsersService } from '../../users/users.service';
import { SessionLease } from './session-leases';
import { SessionRevocations } from './session.revocations';
import { AccessTokenClaims } from './access-token-claims';

/** An access token whose session was live when it was checked. */
export interface AdmittedAccessToken {
  user: AuthenticatedUser;
  /** Memory of the token may be served while this holds (`live`): no revocation of the user's sessions since the check. */
  lease: SessionLease;
  /** Epoch ms: the token's `exp`, or its session's end if that comes first. */
  liveUntilMs: number;
}

/** Why a token was not admitted: its session is not a live one of its user, or the key that signed it has retired (decision 028). */
export type AccessTokenRefusal = 'no_live_session' | 'key_retired';

/** What the read of a session answered: its user, when it ends and whether the token's key has retired; or not a live session of that user. */
type SessionRead = { user: AuthenticatedUser; sessionExpiresAtMs: number; keyRetired: boolean } | null;

/**
 * Binds access tokens to their session: a token is good while its session is, not merely until
 * its `exp`. Checked in the database the first time an instance sees the token; from then on the
 * instance trusts its memory of the token until a revocation of the user's sessions is heard
 * (`SessionRevocations`), or while it cannot hear them, not at all.
 *
 * One read per session at a time: the requests that bring tokens of a session while its read is
 * in flight share it, and its failure (a 503 for each of them). A request joins only while the
 * lease the read was taken under is still live: a read that a revocation overtook may answer
 * with the revoked session, which only requests that came before the revocation may get. Nor
 * does a token join the read of a token signed by another key, whose answer says nothing of its own.
 */
@Injectable()
export class AccessTokenSessions {
  private readonly reads = new Map<string, { sub: string; signedBy: string | undefined; lease: SessionLease; answer: Promise<SessionRead> }>();

  constructor(
    private readonly revocations: SessionRevocations,
    private readonly users: UsersService,
    private readonly usersRepository: UsersRepository,
  ) {}

  /**
   * The token's user and how long memory of it may serve; or why not: its session is revoked,
   * expired, unknown or not its user's, or `signedBy` (the token's kid, given when the signing
   * keys are kept in the database) has retired.
   */
  async admit(claims: Pick<AccessTokenClaims, 'sub' | 'sid' | 'exp'>, signedBy?: string): Promise<AdmittedAccessToken | AccessTokenRefusal> {
    // Before the read: a revocation heard while the read is in flight ends this lease.
    const lease = this.revocations.lease(claims.sub);
    const found = await this.read(claims.sub, claims.sid, signedBy, lease);
    if (found === null) return 'no_live_session';
    if (found.keyRetired) return 'key_retired';
    return { user: found.user, lease, liveUntilMs: Math.min(claims.exp * 1000, found.sessionExpiresAtMs) };
  }

  private read(sub: string, sid: string, signedBy: string | undefined, lease: SessionLease): Promise<SessionRead> {
    const inFlight = this.reads.get(sid);
    if (inFlight !== undefined && inFlight.sub === sub && inFlight.signedBy === signedBy && inFlight.lease === lease && lease.live) return inFlight.answer;
    const answer = this.users.readAuthenticatedUser(() => this.usersRepository.findAuthenticatedInLiveSession(sub, sid, signedBy));
    this.reads.set(sid, { sub, signedBy, lease, answer });
    const done = () => {
      if (this.reads.get(sid)?.answer === answer) this.reads.delete(sid);
    };
    answer.then(done, done);
    return answer;
  }
}
