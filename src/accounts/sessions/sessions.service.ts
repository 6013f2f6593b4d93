import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Principal } from '../../common/auth/principal';
import { AppError } from '../../common/errors/app-error';
import { LogFingerprint } from '../../common/logging/log.fingerprint';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { LoginAccount, UsersRepository } from '../../users/users.repository';
import { ActiveSessionListResponseDto } from './dto/active-session-list-response.dto';
import { SessionLoginDto } from './dto/session-login.dto';
import { LogoutScope } from './dto/session-logout-query.dto';
import { PasswordHasher } from '../passwords/password.hasher';
import { SecretTokens } from '../secrets/secret.tokens';
import { AccessTokenService, IssuedAccessToken } from '../../auth/tokens/access-token.service';
import { ClientInfo } from '../../common/http/client-info';
import { RefreshTokenEntity } from './refresh-token.entity';
import { decideRefresh, lifetimeEnd, RefreshDecision, sessionEnd } from './refresh-decision';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { SessionEntity } from './session.entity';
import { IssuedSession, toActiveSession, toIssuedSession } from './session.mapper';
import { NewSession, SessionsRepository } from './sessions.repository';
import { inTransaction } from '../../database/transaction';

/** A replay follows the chain this many links at most; a real client never gets near it. */
const MAX_REPLAY_HOPS = 32;

interface PreparedSession {
  session: NewSession;
  refreshToken: string;
  refreshTokenHash: string;
  access: IssuedAccessToken;
}

type RefreshOutcome =
  | { ok: true; session: SessionEntity; refreshToken: string; refreshExpiresAt: Date; now: Date }
  | { ok: false; decision: RefreshDecision; sessionId?: string; userId?: string };

/** Why a login failed, as the warn line says it; every one of them but the last answers 401 alike. */
type FailedLoginReason = 'unknown_email' | 'wrong_password' | 'password_changed' | 'email_not_verified';

/** Logging in, refreshing and logging out: the life of a session. */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly passwords: PasswordHasher,
    private readonly secrets: SecretTokens,
    private readonly accessTokens: AccessTokenService,
    private readonly clock: Clock,
    private readonly fingerprint: LogFingerprint,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async login({ email, password }: SessionLoginDto, client: ClientInfo): Promise<IssuedSession> {
    const { confirmed, unconfirmed } = await this.users.findLoginAccounts(email);
    if (!confirmed && !unconfirmed) {
      // An unknown email costs one argon2 verification too, and answers what a wrong password does.
      await this.passwords.verifyNothing(password);
      throw this.refuseLogin(email, 'unknown_email', client);
    }
    // Whoever registers an address chooses the password of its pending registration, so the
    // password is checked against both the confirmed user and that registration: the registrant's
    // password answers 403 EMAIL_NOT_VERIFIED whether or not an account stands behind the
    // address, and costs the same two hashes either way (one of nothing when there is no
    // account), else register-then-login would tell who has an account.
    // The hashes run on the thread pool, several milliseconds during which the event loop would
    // wait. It prepares the answer meanwhile (the session's id, its refresh token, the signed
    // access token), so a login waits for the hashes and then for one insert. What is prepared
    // for a wrong password is dropped: nothing of it is stored or sent. All settle before anything
    // is decided, so none can fail unobserved.
    const [confirmedMatches, unconfirmedMatches, prepared] = await Promise.all([
      confirmed ? this.passwords.verify(confirmed.passwordHash, password) : this.passwords.verifyNothing(password),
      unconfirmed ? this.passwords.verify(unconfirmed.passwordHash, password) : false,
      // Started once the hashes have been handed to the thread pool.
      Promise.resolve().then(() => (confirmed ? this.prepareSession(confirmed, client) : undefined)),
    ]);
    if (confirmed && confirmedMatches && prepared) {
      // One statement on its own: no unit of work to fork. Not opened: the password was reset or
      // changed while it was being verified, so the one given is no longer the account's.
      if (await this.sessions.open(this.em, prepared.session, { tokenHash: prepared.refreshTokenHash }, confirmed.passwordHash)) {
        const { createdAt: now, expiresAt } = prepared.session;
        return toIssuedSession(confirmed, prepared.access, { token: prepared.refreshToken, expiresAt }, now);
      }
      throw this.refuseLogin(email, 'password_changed', client);
    }
    if (unconfirmedMatches) {
      this.logFailedLogin(email, 'email_not_verified', client);
      throw new AppError('EMAIL_NOT_VERIFIED', 'Confirm your email address before logging in');
    }
    throw this.refuseLogin(email, 'wrong_password', client);
  }

  /** Everything a successful login answers, ready before the session is stored. */
  private prepareSession(user: LoginAccount, client: ClientInfo): PreparedSession {
    const now = this.clock.now();
    const session: NewSession = { id: randomUUID(), userId: user.id, createdAt: now, expiresAt: this.sessionEnd(now, now), userAgent: client.userAgent, ip: client.ip };
    const { token: refreshToken, hash: refreshTokenHash } = this.secrets.generate();
    const access = this.accessTokens.issue({ id: user.id, email: user.email }, session.id);
    return { session, refreshToken, refreshTokenHash, access };
  }

  /**
   * Exchanges a refresh token for a new pair. All refreshes of one session queue on the session's
   * row lock, so they see each other's rotations and the session stays one chain.
   */
  async refresh(presented: string): Promise<IssuedSession> {
    const outcome = await inTransaction(this.em, async (em) => {
      const refreshed = await this.applyRefresh(em, presented);
      if (!refreshed.ok) return refreshed;
      // Whatever can fail is done before the rotation commits: a rotation whose answer never left
      // would make the client's retry, with the only token it holds, look like a stolen token's
      // reuse and end the session. A failure here rolls the rotation back instead.
      const user = await this.users.findById(refreshed.session.userId, em);
      if (!user) throw AppError.invalidToken('Invalid or expired refresh token');
      const lifetimeEndsAt = lifetimeEnd(refreshed.session.createdAt, this.config.tokens.sessionMaxLifetimeSeconds);
      const access = this.accessTokens.issue({ id: user.id, email: user.email }, refreshed.session.id, lifetimeEndsAt.getTime());
      return { ...refreshed, user, access };
    });
    if (!outcome.ok) {
      if (outcome.decision.action === 'revoke_session') {
        const why = outcome.decision.reason === 'reused_after_grace' ? 'after its grace interval' : 'a second time in a row within its grace interval';
        this.logger.warn(`A refresh token was reused ${why}: the session is revoked`, {
          event: 'refresh_token_reuse',
          reason: outcome.decision.reason,
          session_id: outcome.sessionId,
          user_id: outcome.userId,
        });
      }
      throw AppError.invalidToken('Invalid or expired refresh token');
    }
    return toIssuedSession(outcome.user, outcome.access, { token: outcome.refreshToken, expiresAt: outcome.refreshExpiresAt }, outcome.now);
  }

  /** Revokes this session, the others, or all; refresh tokens of revoked sessions stop working at once. */
  async logout(principal: Principal, scope: LogoutScope): Promise<void> {
    const sessionId = principal.session_id;
    if (!sessionId) throw AppError.invalidToken('This access token belongs to no session');
    const now = this.clock.now();
    const which = scope === 'local' ? 'only' : scope === 'others' ? 'all_but' : 'all';
    await inTransaction(this.em, async (em) => {
      // Many sessions: the user's row first, as a password change takes it before the sessions.
      if (which !== 'only') await this.users.lockForShare(em, principal.user.id);
      await this.sessions.revokeForUser(em, principal.user.id, which, sessionId, now, 'logout');
    });
  }

  /** The caller's live sessions, the one asking marked `current`. */
  async list(principal: Principal): Promise<ActiveSessionListResponseDto> {
    const now = this.clock.now();
    const sessions = await this.sessions.findLiveForUser(this.em.fork(), principal.user.id, now, this.openedAfter(now));
    return { sessions: sessions.map((session) => toActiveSession(session, principal.session_id)) };
  }

  /**
   * Ends one of the caller's sessions, as logout ends the caller's own: its refresh token stops
   * working and its access tokens are refused on every instance before this resolves. Another
   * user's session, and one that has ended already, is as unknown as one that never existed, as
   * the list of live sessions says.
   */
  async revokeOne(principal: Principal, sessionId: string): Promise<void> {
    const now = this.clock.now();
    const revoked = await inTransaction(this.em, (em) => this.sessions.revokeForUser(em, principal.user.id, 'only', sessionId, now, 'logout', { openedAfter: this.openedAfter(now) }));
    if (revoked === 0) throw AppError.notFound('Session not found');
  }

  /** Sessions opened before this are past the lifetime cap, whatever their expiry says (it may have slid past the cap before the cap existed): not live. */
  private openedAfter(now: Date): Date {
    return new Date(now.getTime() - this.config.tokens.sessionMaxLifetimeSeconds * 1000);
  }

  private async applyRefresh(em: EntityManager, presented: string): Promise<RefreshOutcome> {
    const hash = this.secrets.hash(presented);
    const session = await this.sessions.lockByRefreshTokenHash(em, hash);
    // The time is read once the session is held: a refresh that waited for the lock judges expiry
    // as of now, so it cannot bring back a session that ended, or was ended, while it waited.
    const now = this.clock.now();
    // Read after the lock: this sees every rotation committed by refreshes that went first.
    const token = session ? await this.refreshTokens.findByHash(em, hash) : null;
    const { refreshReuseGraceSeconds: graceSeconds, sessionMaxLifetimeSeconds: maxLifetimeSeconds } = this.config.tokens;
    const decision = decideRefresh({ token, session, now, graceSeconds, maxLifetimeSeconds });

    switch (decision.action) {
      case 'reject':
        return { ok: false, decision };
      case 'revoke_session':
        await this.sessions.revoke(em, session!, now, 'refresh_token_reuse');
        return { ok: false, decision, sessionId: session!.id, userId: session!.userId };
      case 'rotate': {
        const next = this.secrets.generate();
        const expiresAt = this.sessionEnd(session!.createdAt, now);
        await this.refreshTokens.rotate(em, token!, { tokenHash: next.hash, createdAt: now, expiresAt }, this.secrets.seal(next.token, presented), now);
        await this.sessions.markRefreshed(em, session!, now, expiresAt);
        return { ok: true, session: session!, refreshToken: next.token, refreshExpiresAt: expiresAt, now };
      }
      case 'replay': {
        const head = await this.followChain(em, token!, presented);
        if (!head) return { ok: false, decision: { action: 'reject', reason: 'unknown_token' } };
        await this.refreshTokens.markShared(em, head.token, now);
        await this.sessions.markRefreshed(em, session!, now);
        return { ok: true, session: session!, refreshToken: head.secret, refreshExpiresAt: head.token.expiresAt, now };
      }
    }
  }

  /**
   * From a retired token to the live head of its chain: each retired token holds its successor
   * sealed under itself, so the holder of a token can read the next one, and nobody else can.
   */
  private async followChain(em: EntityManager, from: RefreshTokenEntity, presented: string): Promise<{ token: RefreshTokenEntity; secret: string } | null> {
    let token = from;
    let secret = presented;
    for (let hop = 0; hop < MAX_REPLAY_HOPS; hop++) {
      if (!token.retiredAt) return { token, secret };
      if (!token.replacedById || !token.successorSealed) return null;
      const nextSecret = this.secrets.open(token.successorSealed, secret);
      const next = await this.refreshTokens.findById(em, token.replacedById);
      if (nextSecret === null || !next || this.secrets.hash(nextSecret) !== next.tokenHash) return null;
      token = next;
      secret = nextSecret;
    }
    return null;
  }

  private sessionEnd(createdAt: Date, now: Date): Date {
    return sessionEnd(createdAt, now, this.config.tokens.refreshTtlSeconds, this.config.tokens.sessionMaxLifetimeSeconds);
  }

  /** An unknown email and a wrong password: logged apart, answered alike. */
  private refuseLogin(email: string, reason: Exclude<FailedLoginReason, 'email_not_verified'>, client: ClientInfo): AppError {
    this.logFailedLogin(email, reason, client);
    return new AppError('INVALID_CREDENTIALS', 'Invalid email or password');
  }

  /**
   * Never the password; the address only as its domain and a keyed hash, enough to correlate
   * attempts on one account (and, with the client IP, from one source) without naming it.
   */
  private logFailedLogin(email: string, reason: FailedLoginReason, client: ClientInfo): void {
    this.logger.warn(`Failed login (${reason})`, { event: 'login_failed', reason, ...this.fingerprint.email(email), ip: client.ip });
  }
}
