import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { SessionEntity, SessionRevokedReason } from './session.entity';

/** Every query on sessions. Methods take the caller's transaction. */
@Injectable()
export class SessionsRepository {
  async create(em: EntityManager, session: Pick<SessionEntity, 'userId' | 'expiresAt' | 'userAgent' | 'ip' | 'createdAt'>): Promise<SessionEntity> {
    const entity = em.create(SessionEntity, session, { persist: false });
    await em.insert(entity);
    return entity;
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

  async revoke(em: EntityManager, session: SessionEntity, now: Date, reason: SessionRevokedReason): Promise<void> {
    await em.nativeUpdate(SessionEntity, { id: session.id }, { revokedAt: now, revokedReason: reason });
  }

  /** After a refresh: when it happened, and the session's new end when the chain moved on. */
  async markRefreshed(em: EntityManager, session: SessionEntity, now: Date, expiresAt?: Date): Promise<void> {
    await em.nativeUpdate(SessionEntity, { id: session.id }, expiresAt === undefined ? { refreshedAt: now } : { refreshedAt: now, expiresAt });
  }

  /** `scope`: just `sessionId`, every session but `sessionId`, or every session of the user. */
  revokeForUser(em: EntityManager, userId: string, scope: 'only' | 'all_but' | 'all', sessionId: string | null, now: Date, reason: SessionRevokedReason): Promise<number> {
    const where =
      scope === 'only' ? { userId, id: sessionId!, revokedAt: null } :
      scope === 'all_but' ? { userId, id: { $ne: sessionId! }, revokedAt: null } :
      { userId, revokedAt: null };
    return em.nativeUpdate(SessionEntity, where, { revokedAt: now, revokedReason: reason });
  }
}
