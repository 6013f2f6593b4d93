import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '../common/auth/principal';
import { AUTHENTICATED_USER_COLUMNS_OF_U, toAuthenticatedUser } from '../users/users.repository';
import { ApiKeyEntity } from './api-key.entity';

/** What authenticating with a key needs to know about it. */
export interface ActiveApiKey {
  id: string;
  userId: string;
  /** Epoch milliseconds, or null for a key that never expires. */
  expiresAt: number | null;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Null: the key may do everything. */
  scopes: readonly string[] | null;
}

export interface NewApiKey {
  userId: string;
  name: string | null;
  keyPrefix: string;
  /** SHA-256 of the key, hex. */
  keyHash: string;
  expiresAt: Date | null;
  scopes: string[] | null;
}

/** What a roll copies from the key it replaces. */
export interface RollableApiKey {
  name: string | null;
  keyPrefix: string;
  expiresAt: Date | null;
  scopes: string[] | null;
}

/** `active`: not revoked and not expired. */
const ACTIVE = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())';
/** The same, of `api_keys` joined as `k`. */
const ACTIVE_OF_K = 'k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())';

/** Every query on API keys. Methods that write take the caller's transaction. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * The authentication lookup, the whole of a cache miss: the active key with this hash and its
   * user, in one read by the unique index on `key_hash` (the user by its primary key), no entity,
   * no identity map. Null when there is no such key, or its user is gone.
   */
  async findActiveWithUserByHash(keyHash: string): Promise<{ key: ActiveApiKey; user: AuthenticatedUser } | null> {
    // Expiry as epoch milliseconds (float8 arrives as a number), free of any time-zone parsing.
    const rows = await this.em.getConnection().execute<Array<Record<string, any>>>(
      `SELECT k.id AS key_id, (extract(epoch FROM k.expires_at) * 1000)::float8 AS key_expires_at_ms,
              (extract(epoch FROM k.created_at) * 1000)::float8 AS key_created_at_ms, k.scopes AS key_scopes, ${AUTHENTICATED_USER_COLUMNS_OF_U}
         FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.key_hash = decode(?, 'hex') AND ${ACTIVE_OF_K}`,
      [keyHash],
    );
    if (rows.length === 0) return null;
    const [row] = rows;
    const user = toAuthenticatedUser(row);
    const scopes: readonly string[] | null = row.key_scopes === null ? null : Object.freeze([...row.key_scopes]);
    return { key: { id: row.key_id, userId: user.id, expiresAt: row.key_expires_at_ms, createdAt: row.key_created_at_ms, scopes }, user };
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

  /** The user's active keys; `rolled`: only those rolled already, still working in their grace period. */
  async countActiveForUser(em: EntityManager, userId: string, { rolled = false } = {}): Promise<number> {
    const [row] = await em
      .getConnection()
      .execute<Array<{ count: string }>>(
        `SELECT count(*) AS count FROM api_keys WHERE user_id = ? AND ${ACTIVE}${rolled ? ' AND replaced_by IS NOT NULL' : ''}`,
        [userId],
        'all',
        em.getTransactionContext(),
      );
    return Number(row.count);
  }

  async insert(em: EntityManager, key: NewApiKey): Promise<ApiKeyEntity> {
    const entity = em.create(ApiKeyEntity, {
      userId: key.userId,
      name: key.name,
      keyPrefix: key.keyPrefix,
      keyHash: Buffer.from(key.keyHash, 'hex'),
      expiresAt: key.expiresAt,
      scopes: key.scopes,
    }, { persist: false });
    await em.insert(entity);
    return entity;
  }

  /** Revokes every key of the user that still works; answers their hashes (hex). */
  async revokeAllForUser(em: EntityManager, userId: string): Promise<string[]> {
    const rows = await em.getConnection().execute<Array<{ key_hash: string }>>(
      `UPDATE api_keys SET revoked_at = now() WHERE user_id = ? AND ${ACTIVE} RETURNING encode(key_hash, 'hex') AS key_hash`,
      [userId],
      'all',
      em.getTransactionContext(),
    );
    return rows.map((row) => row.key_hash);
  }

  /**
   * Revokes the user's key unless it is unknown, someone else's, already revoked or expired (gone
   * from the list as a revoked one is). Answers the key's hash (hex), or null when nothing was
   * revoked.
   */
  async revokeForUser(em: EntityManager, userId: string, id: string): Promise<string | null> {
    const rows = await em.getConnection().execute<Array<{ key_hash: string }>>(
      `UPDATE api_keys SET revoked_at = now() WHERE id = ? AND user_id = ? AND ${ACTIVE} RETURNING encode(key_hash, 'hex') AS key_hash`,
      [id, userId],
      'all',
      em.getTransactionContext(),
    );
    return rows.length === 0 ? null : rows[0].key_hash;
  }

  /**
   * The user's key to roll, locked until the transaction ends so two rolls of one key take turns:
   * active, and not rolled already. Null for anything else.
   */
  async lockRollableForUser(em: EntityManager, userId: string, id: string): Promise<RollableApiKey | null> {
    const rows = await em.getConnection().execute<Array<{ name: string | null; key_prefix: string; expires_at: Date | null; scopes: string[] | null }>>(
      `SELECT name, key_prefix, expires_at, scopes FROM api_keys
        WHERE id = ? AND user_id = ? AND replaced_by IS NULL AND ${ACTIVE} FOR UPDATE`,
      [id, userId],
      'all',
      em.getTransactionContext(),
    );
    if (rows.length === 0) return null;
    const [row] = rows;
    return { name: row.name, keyPrefix: row.key_prefix, expiresAt: row.expires_at === null ? null : new Date(row.expires_at), scopes: row.scopes };
  }

  /**
   * Marks a rolled key as replaced by `replacedBy` and ends it: at `endsAt` (or its own expiry, if
   * sooner), or at once when `endsAt` is null. Answers the key's hash (hex) and when it ends.
   */
  async retireRolled(em: EntityManager, id: string, replacedBy: string, endsAt: Date | null): Promise<{ keyHash: string; endsAt: Date }> {
    const [row] = await em.getConnection().execute<Array<{ key_hash: string; ends_at: Date }>>(
      endsAt === null
        ? `UPDATE api_keys SET replaced_by = ?, revoked_at = now() WHERE id = ?
           RETURNING encode(key_hash, 'hex') AS key_hash, revoked_at AS ends_at`
        : `UPDATE api_keys SET replaced_by = ?, expires_at = LEAST(expires_at, ?::timestamptz) WHERE id = ?
           RETURNING encode(key_hash, 'hex') AS key_hash, expires_at AS ends_at`,
      endsAt === null ? [replacedBy, id] : [replacedBy, endsAt, id],
      'all',
      em.getTransactionContext(),
    );
    return { keyHash: row.key_hash, endsAt: new Date(row.ends_at) };
  }

}
