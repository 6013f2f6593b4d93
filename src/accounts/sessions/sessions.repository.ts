import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RefreshTokenEntity } from './refresh-token.entity';
import { SessionEntity, SessionRevokedReason } from './session.entity';
import { SessionRevocations } from '../../auth/tokens/session.revocations';

/**
 * A session about to be opened. Its id is chosen by the caller, so that what names the session (the
 * access token) can be made before the row exists.
 */
export type NewSession = Pick<SessionEntity, 'id' | 'userId' | 'expiresAt' | 'userAgent' | 'ip' | 'createdAt'>;

/**
 * Every query on sessions. Methods take the caller's transaction, an `inTransaction` one when
 * they revoke: a revocation reaches every instance's memory of the sessions' access tokens
 * before that transaction resolves (`SessionRevocations`).
 */
@Injectable()
export class SessionsRepository {
  constructor(private readonly revocations: SessionRevocations) {}

  /**
   * A new session and the first refresh token of its chain, in one statement, only while the
   * user's password is still `passwordHash`, the one the login verified; answers whether it was
   * opened. A login verifies for milliseconds before it opens: a password reset or change that
   * commits meanwhile revokes the sessions it can see, and a session opened after it with the old
   * password would outlive it. The user row is read `FOR SHARE`, so a change waits for this
   * statement (and then revokes the session it made), or this one waits for the change (and then
   * finds another password). A statement is atomic on its own, so a login needs no BEGIN … COMMIT
   * around the inserts: one round trip to the database.
   */
  async open(em: EntityManager, session: NewSession, firstToken: Pick<RefreshTokenEntity, 'tokenHash'>, passwordHash: string): Promise<boolean> {
    const result = await em.getConnection().execute<{ affectedRows: number }>(
      `WITH account AS (
         SELECT id FROM users WHERE id = ? AND password_hash = ? FOR SHARE
       ), session AS (
         INSERT INTO sessions (id, user_id, created_at, expires_at, user_agent, ip)
         SELECT ?, account.id, ?, ?, ?, ? FROM account RETURNING id, created_at, expires_at
       )
       INSERT INTO refresh_tokens (id, token_hash, session_id, parent_id, created_at, expires_at)
       SELECT ?, ?, session.id, NULL, session.created_at, session.expires_at FROM session`,
      [session.userId, passwordHash, session.id, session.createdAt, session.expiresAt, session.userAgent, session.ip, randomUUID(), firstToken.tokenHash],
      'run',
      em.getTransactionContext(),
    );
    return result.affectedRows === 1;
  }

  /**
   * Locks (`FOR UPDATE`) the session a refresh token belongs to, so that every refresh of one
   * session runs one after the other. Answers null for an unknown token.
   */
  async lockByRefreshTokenHash(em: EntityManager, tokenHash: string): Promise<SessionEntity | null> {
    const rows = await em.getConnection().execute<Record<string, unknown>[]>(
      `SELECT s.* FROM sessions s WHERE s.id = (SELECT session_id FROM refresh_tokens WHERE token_hash = ?) FOR UPDATE`,
      [tokenHash],
      'all',
      em.getTransactionContext(),
    );
    return rows.length === 0 ? null : em.map(SessionEntity, rows[0]);
  }

  /** Locks the session (`FOR UPDATE`) if it is live, until the transaction ends; answers whether it is. */
  async lockIfLive(em: EntityManager, id: string, now: Date): Promise<boolean> {
    const rows = await em.getConnection().execute<unknown[]>(
      'SELECT 1 FROM sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ? FOR UPDATE',
      [id, now],
      'all',
      em.getTransactionContext(),
    );
    return rows.length === 1;
  }

  async revoke(em: EntityManager, session: SessionEntity, now: Date, reason: SessionRevokedReason): Promise<void> {
    const revoked = await em.nativeUpdate(SessionEntity, { id: session.id, revokedAt: null }, { revokedAt: now, revokedReason: reason });
    if (revoked > 0) await this.revocations.announce(em, session.userId);
  }

  /** After a refresh: when it happened, and the session's new end when the chain moved on. */
  async markRefreshed(em: EntityManager, session: SessionEntity, now: Date, expiresAt?: Date): Promise<void> {
    await em.nativeUpdate(SessionEntity, { id: session.id }, expiresAt === undefined ? { refreshedAt: now } : { refreshedAt: now, expiresAt });
  }

  /**
   * The user's live sessions (neither revoked nor expired, and opened after `openedAfter`: those
   * before it are past their maximum lifetime, whatever their expiry says), most recently active
   * first, where activity is the last login or refresh. The partial index on live sessions of a
   * user serves it.
   */
  async findLiveForUser(em: EntityManager, userId: string, now: Date, openedAfter: Date): Promise<SessionEntity[]> {
    const rows = await em.getConnection().execute<Record<string, unknown>[]>(
      `SELECT * FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND created_at > ?
        ORDER BY coalesce(refreshed_at, created_at) DESC, created_at DESC`,
      [userId, now, openedAfter],
      'all',
      em.getTransactionContext(),
    );
    return rows.map((row) => em.map(SessionEntity, row));
  }

  /**
   * `scope`: just `sessionId`, every session but `sessionId`, or every session of the user. Answers
   * how many were revoked. Given `liveOnly`, `only` ends a live session alone: one that ended
   * already (expired at `now`, or opened before `openedAfter`, past the lifetime cap) is left as it
   * is, and counts none. Without it, the session is revoked whatever its expiry says, so that no
   * refresh racing the sign-out can bring it back.
   */
  async revokeForUser(
    em: EntityManager,
    userId: string,
    scope: 'only' | 'all_but' | 'all',
    sessionId: string | null,
    now: Date,
    reason: SessionRevokedReason,
    liveOnly?: { openedAfter: Date },
  ): Promise<number> {
    const live = liveOnly ? { expiresAt: { $gt: now }, createdAt: { $gt: liveOnly.openedAfter } } : {};
    const where =
      scope === 'only' ? { userId, id: sessionId!, revokedAt: null, ...live } :
      scope === 'all_but' ? { userId, id: { $ne: sessionId! }, revokedAt: null } :
      { userId, revokedAt: null };
    const revoked = await em.nativeUpdate(SessionEntity, where, { revokedAt: now, revokedReason: reason });
    if (revoked > 0) await this.revocations.announce(em, userId);
    return revoked;
  }
}
