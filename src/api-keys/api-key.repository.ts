import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ApiKeyEntity } from './api-key.entity';

/** What authenticating with a key needs to know about it. */
export interface ActiveApiKey {
  id: string;
  userId: string;
  /** Epoch milliseconds, or null for a key that never expires. */
  expiresAt: number | null;
}

export interface NewApiKey {
  userId: string;
  name: string | null;
  keyPrefix: string;
  /** SHA-256 of the key, hex. */
  keyHash: string;
  expiresAt: Date | null;
}

/** `active`: not revoked and not expired. */
const ACTIVE = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())';

/** Every query on API keys. Methods that write take the caller's transaction. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly em: EntityManager) {}

  /** The authentication lookup: one indexed read, no entity, no identity map. */
  async findActiveByHash(keyHash: string): Promise<ActiveApiKey | null> {
    // Expiry as epoch milliseconds (float8 arrives as a number), free of any time-zone parsing.
    const rows = await this.em.getConnection().execute<Array<{ id: string; user_id: string; expires_at_ms: number | null }>>(
      `SELECT id, user_id, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at_ms
         FROM api_keys WHERE key_hash = decode(?, 'hex') AND ${ACTIVE}`,
      [keyHash],
    );
    if (rows.length === 0) return null;
    const [row] = rows;
    return { id: row.id, userId: row.user_id, expiresAt: row.expires_at_ms };
  }

  listActiveForUser(userId: string, em: EntityManager = this.em.fork()): Promise<ApiKeyEntity[]> {
    return em.find(
      ApiKeyEntity,
      { userId, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
  }

  /**
   * Locks the owner's row until the transaction ends, so concurrent creations for one user take
   * turns and the cap on active keys holds. Answers the owner's email (where the notice of a new
   * key goes), or null when the user does not exist.
   */
  async lockOwner(em: EntityManager, userId: string): Promise<string | null> {
    // NO KEY UPDATE: serialises key creation without blocking the foreign-key checks of other writes.
    const rows = await em
      .getConnection()
      .execute<Array<{ email: string }>>('SELECT email FROM users WHERE id = ? FOR NO KEY UPDATE', [userId], 'all', em.getTransactionContext());
    return rows.length > 0 ? rows[0].email : null;
  }

  async countActiveForUser(em: EntityManager, userId: string): Promise<number> {
    const [row] = await em
      .getConnection()
      .execute<Array<{ count: string }>>(`SELECT count(*) AS count FROM api_keys WHERE user_id = ? AND ${ACTIVE}`, [userId], 'all', em.getTransactionContext());
    return Number(row.count);
  }

  async insert(em: EntityManager, key: NewApiKey): Promise<ApiKeyEntity> {
    const entity = em.create(ApiKeyEntity, {
      userId: key.userId,
      name: key.name,
      keyPrefix: key.keyPrefix,
      keyHash: Buffer.from(key.keyHash, 'hex'),
      expiresAt: key.expiresAt,
    }, { persist: false });
    await em.insert(entity);
    return entity;
  }

  /**
   * Revokes the user's key unless it is unknown, someone else's or already revoked. Answers the
   * key's hash (hex), or null when nothing was revoked.
   */
  async revokeForUser(em: EntityManager, userId: string, id: string): Promise<string | null> {
    const rows = await em.getConnection().execute<Array<{ key_hash: string }>>(
      `UPDATE api_keys SET revoked_at = now() WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING encode(key_hash, 'hex') AS key_hash`,
      [id, userId],
      'all',
      em.getTransactionContext(),
    );
    return rows.length === 0 ? null : rows[0].key_hash;
  }
}
