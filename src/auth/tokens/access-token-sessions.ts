import { Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '../../common/auth/principal';
import { UsersRepository } from '../../users/users.repository';
import { UsersService } from '../../users/users.service';
import { SessionLease } from '../sessions/session-leases';
import { SessionRevocations } from '../sessions/session-revocations';
import { AccessTokenClaims } from './access-token-claims';

/** An access token whose session was live when it was checked. */
export interface AdmittedAccessToken {
  user: AuthenticatedUser;
  /** Memory of the token may be served while this holds (`live`): no revocation of the user's sessions since the check. */
  lease: SessionLease;
  /** Epoch ms: the token's `exp`, or its session's end if that comes first. */
  liveUntilMs: number;
}

/**
 * Binds access tokens to their session: a token is good while its session is, not merely until
 * its `exp`. Checked in the database the first time an instance sees the token; from then on the
 * instance trusts its memory of the token until a revocation of the user's sessions is heard
 * (`SessionRevocations`), or while it cannot hear them, not at all.
 */
@Injectable()
export class AccessTokenSessions {
  constructor(
    private readonly revocations: SessionRevocations,
    private readonly users: UsersService,
    private readonly usersRepository: UsersRepository,
  ) {}

  /** The token's user and how long memory of it may serve, or null when its session is revoked, expired, unknown or not its user's. */
  async admit(claims: Pick<AccessTokenClaims, 'sub' | 'sid' | 'exp'>): Promise<AdmittedAccessToken | null> {
    // Before the read: a revocation heard while the read is in flight ends this lease.
    const lease = this.revocations.lease(claims.sub);
    const found = await this.users.readAuthenticatedUser(claims.sub, () => this.usersRepository.findAuthenticatedInLiveSession(claims.sub, claims.sid));
    if (found === null) return null;
    return { user: found.user, lease, liveUntilMs: Math.min(claims.exp * 1000, found.sessionExpiresAtMs) };
  }
}
