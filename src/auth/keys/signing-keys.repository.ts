import { sql } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { EVERY_USER, SESSION_REVOKED_CHANNEL } from '../tokens/session-revocation.subjects';
import { revocationWithoutAcknowledgement } from '../../database/revocation-channel';
import { SigningKeyEntity } from './signing-key.entity';

/** The channel every instance LISTENs on; a rotation NOTIFYs it when it commits. */
export const SIGNING_KEYS_CHANNEL = 'atiru_signing_keys';

/** Serialises rotations (any fixed number used only for this). */
const ROTATION_LOCK_ID = 7_211_410_003;

export interface NewSigningKey {
  kid: string;
  algorithm: string;
  publicKey: string;
  privateKeyEncrypted: string;
}

/** Every query on signing keys. Times are the database's, so instances with skewed clocks agree. */
@Injectable()
export class SigningKeysRepository {
  constructor(private readonly em: EntityManager) {}

  /** The newest key and the retiring ones that still verify, newest first. */
  findUsable(em: EntityManager = this.em.fork()): Promise<SigningKeyEntity[]> {
    return em.find(
      SigningKeyEntity,
      { $or: [{ retireAt: null }, { retireAt: { $gt: sql.now() } }] },
      { orderBy: { createdAt: 'desc', kid: 'asc' } },
    );
  }

  findCurrent(em: EntityManager = this.em.fork()): Promise<SigningKeyEntity | null> {
    return em.findOne(SigningKeyEntity, { retireAt: null });
  }

  /**
   * Inserts `key` as the current key unless there already is one (the partial unique index
   * decides), so instances racing on an empty database end up with one key. Answers its creation
   * time when it won, null otherwise.
   */
  async insertCurrentIfNone(em: EntityManager, key: NewSigningKey): Promise<Date | null> {
    const rows = await em.getConnection().execute<{ created_at: Date }[]>(
      `INSERT INTO signing_keys (kid, algorithm, public_key, private_key_encrypted) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING RETURNING created_at`,
      [key.kid, key.algorithm, key.publicKey, key.privateKeyEncrypted],
      'all',
      em.getTransactionContext(),
    );
    return rows.length > 0 ? new Date(rows[0].created_at) : null;
  }

  /** Inside a transaction: waits until no other rotation runs. Released at commit or rollback. */
  async lockForRotation(em: EntityManager): Promise<void> {
    await em.getConnection().execute('SELECT pg_advisory_xact_lock(?)', [ROTATION_LOCK_ID], 'all', em.getTransactionContext());
  }

  /** Gives the current key a retirement time `afterSeconds` from now; answers that time, or null without a current key. */
  async retireCurrent(em: EntityManager, afterSeconds: number): Promise<Date | null> {
    const rows = await em.getConnection().execute<{ retire_at: Date }[]>(
      `UPDATE signing_keys SET retire_at = now() + make_interval(secs => ?) WHERE retire_at IS NULL RETURNING retire_at`,
      [afterSeconds],
      'all',
      em.getTransactionContext(),
    );
    return rows.length > 0 ? new Date(rows[0].retire_at) : null;
  }

  /** Retires every key that still verifies, now (by the database's clock); answers their kids. */
  async retireAllNow(em: EntityManager): Promise<string[]> {
    const rows = await em.getConnection().execute<{ kid: string }[]>(
      `UPDATE signing_keys SET retire_at = now() WHERE retire_at IS NULL OR retire_at > now() RETURNING kid`,
      [],
      'all',
      em.getTransactionContext(),
    );
    return rows.map((row) => row.kid);
  }

  /**
   * Once the caller's transaction commits, tells every listening instance to reload its keys, and
   * to end the session lease of every user, so that no access token is served from memory before
   * it has been checked again, its key with it (decision 028).
   */
  async notifyRetiredAtOnce(em: EntityManager): Promise<void> {
    await em
      .getConnection()
      .execute(
        'SELECT pg_notify(?, ?), pg_notify(?, ?)',
        [SIGNING_KEYS_CHANNEL, 'retired', SESSION_REVOKED_CHANNEL, revocationWithoutAcknowledgement(EVERY_USER)],
        'all',
        em.getTransactionContext(),
      );
  }

  /** Tells every listening instance to reload its keys, once the caller's transaction commits. */
  async notifyChanged(em: EntityManager): Promise<void> {
    await em.getConnection().execute('SELECT pg_notify(?, ?)', [SIGNING_KEYS_CHANNEL, 'rotated'], 'all', em.getTransactionContext());
  }
}
