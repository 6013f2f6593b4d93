import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { OneTimeTokenEntity, OneTimeTokenPurpose } from './one-time-token.entity';

/** Every query on one-time tokens. Methods take the caller's transaction. */
@Injectable()
export class OneTimeTokensRepository {
  async add(
    em: EntityManager,
    token: Pick<OneTimeTokenEntity, 'tokenHash' | 'purpose' | 'userId' | 'registrationId' | 'expiresAt' | 'redirectTo' | 'createdAt'>,
  ): Promise<OneTimeTokenEntity> {
    const entity = em.create(OneTimeTokenEntity, token, { persist: false });
    await em.insert(entity);
    return entity;
  }

  /** Finds a token of this purpose and locks it (`FOR UPDATE`) until the transaction ends. */
  findByHashForUpdate(em: EntityManager, tokenHash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenEntity | null> {
    return em.findOne(OneTimeTokenEntity, { tokenHash, purpose }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /** A read without a lock, for refusing a bad token before any costly work. */
  findByHash(em: EntityManager, tokenHash: string, purpose: OneTimeTokenPurpose): Promise<OneTimeTokenEntity | null> {
    return em.findOne(OneTimeTokenEntity, { tokenHash, purpose });
  }

  /**
   * Hands a used confirmation token from its registration to the user it became, so the
   * registration can be deleted and opening the link again still lands on success.
   */
  async transferToUser(em: EntityManager, token: OneTimeTokenEntity, userId: string, now: Date): Promise<void> {
    await em.nativeUpdate(OneTimeTokenEntity, { id: token.id }, { userId, registrationId: null, usedAt: token.usedAt ?? now });
  }

  /** The first use counts: a token already used keeps its time. */
  async markUsed(em: EntityManager, token: OneTimeTokenEntity, now: Date): Promise<void> {
    await em.nativeUpdate(OneTimeTokenEntity, { id: token.id, usedAt: null }, { usedAt: now });
  }

  /**
   * Spends every outstanding token of this purpose for the user (e.g. all reset links after a
   * reset), but one another transaction holds: a reset locks its token before the user's row, and
   * a password change locks that row before spending, so waiting here would deadlock the two. The
   * reset goes on afterwards and has the last word.
   */
  async spendAllForUser(em: EntityManager, userId: string, purpose: OneTimeTokenPurpose, now: Date): Promise<number> {
    const result = await em.getConnection().execute<{ affectedRows: number }>(
      `UPDATE one_time_tokens SET used_at = ? WHERE id IN (
         SELECT id FROM one_time_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL FOR UPDATE SKIP LOCKED)`,
      [now, userId, purpose],
      'run',
      em.getTransactionContext(),
    );
    return result.affectedRows;
  }
}
