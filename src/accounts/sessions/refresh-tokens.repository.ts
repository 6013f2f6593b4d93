import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { RefreshTokenEntity } from './refresh-token.entity';

/** Every query on refresh tokens. Callers hold the session's row lock while they write. */
@Injectable()
export class RefreshTokensRepository {
  findByHash(em: EntityManager, tokenHash: string): Promise<RefreshTokenEntity | null> {
    return em.findOne(RefreshTokenEntity, { tokenHash });
  }

  findById(em: EntityManager, id: string): Promise<RefreshTokenEntity | null> {
    return em.findOne(RefreshTokenEntity, { id });
  }

  /**
   * Retires `current` in favour of a new token. The update goes first: the database allows one
   * live token per session, and `replaced_by_id` is checked at commit.
   */
  async rotate(
    em: EntityManager,
    current: RefreshTokenEntity,
    successor: Pick<RefreshTokenEntity, 'tokenHash' | 'expiresAt' | 'createdAt'>,
    successorSealed: Buffer,
    now: Date,
  ): Promise<RefreshTokenEntity> {
    const next = em.create(RefreshTokenEntity, { ...successor, sessionId: current.sessionId, parentId: current.id }, { persist: false });
    await em.nativeUpdate(RefreshTokenEntity, { id: current.id }, { retiredAt: now, replacedById: next.id, successorSealed });
    await em.insert(next);
    return next;
  }

  /** A replay handed `token` to a second presenter: from now on its retirement allows no replay. */
  async markShared(em: EntityManager, token: RefreshTokenEntity, now: Date): Promise<void> {
    await em.nativeUpdate(RefreshTokenEntity, { id: token.id, sharedAt: null }, { sharedAt: now });
  }
}
