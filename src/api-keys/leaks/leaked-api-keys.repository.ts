import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

/** A key revoked because it leaked, with what its owner's notice needs. */
export interface RevokedLeakedKey {
  id: string;
  userId: string;
  /** SHA-256 of the key, hex. */
  keyHash: string;
  keyPrefix: string;
  name: string | null;
  ownerEmail: string;
}

/** The hashes (hex) as one JSON parameter, a set PostgreSQL can join on key_hash's index. */
const LEAKED = `leaked AS (SELECT decode(h, 'hex') AS key_hash FROM json_array_elements_text(?::json) AS h)`;

/** The queries of leak reports, by key hash. Both take the caller's transaction. */
@Injectable()
export class LeakedApiKeysRepository {
  /** Revokes every active key among `keyHashes` (hex) and answers them, each with its owner's email. */
  async revokeActive(em: EntityManager, keyHashes: string[]): Promise<RevokedLeakedKey[]> {
    const rows = await em.getConnection().execute<Array<{ id: string; user_id: string; key_hash: string; key_prefix: string; name: string | null; email: string }>>(
      `WITH ${LEAKED}
       UPDATE api_keys AS k SET revoked_at = now()
         FROM leaked, users AS u
        WHERE k.key_hash = leaked.key_hash AND u.id = k.user_id
          AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
       RETURNING k.id, k.user_id, encode(k.key_hash, 'hex') AS key_hash, k.key_prefix, k.name, u.email`,
      [JSON.stringify(keyHashes)],
      'all',
      em.getTransactionContext(),
    );
    return rows.map((row) => ({ id: row.id, userId: row.user_id, keyHash: row.key_hash, keyPrefix: row.key_prefix, name: row.name, ownerEmail: row.email }));
  }

  /**
   * Which of `keyHashes` (hex) belong to a key this service issued, whether it still works, has
   * ended, or was deleted since (the hashes a trigger keeps of deleted keys: a key with a valid
   * checksum is otherwise no proof that we issued it).
   */
  async findIssued(em: EntityManager, keyHashes: string[]): Promise<Set<string>> {
    const rows = await em
      .getConnection()
      .execute<Array<{ key_hash: string }>>(
        `WITH ${LEAKED}
         SELECT encode(k.key_hash, 'hex') AS key_hash FROM api_keys AS k JOIN leaked ON k.key_hash = leaked.key_hash
         UNION
         SELECT encode(d.key_hash, 'hex') FROM deleted_api_key_hashes AS d JOIN leaked ON d.key_hash = leaked.key_hash`,
        [JSON.stringify(keyHashes)],
        'all',
        em.getTransactionContext(),
      );
    return new Set(rows.map((row) => row.key_hash));
  }
}
