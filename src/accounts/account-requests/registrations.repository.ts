import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

/**
 * A registration waiting for its confirmation link to be clicked. Its password hash becomes the
 * user's only then; until then it logs nobody in.
 */
export interface PendingRegistration {
  id: string;
  email: string;
  passwordHash: string;
  redirectTo: string | null;
  createdAt: Date;
  expiresAt: Date;
}

const COLUMNS = 'id, email, password_hash, redirect_to, created_at, expires_at';

/** Every query on pending registrations. Methods take the caller's transaction. */
@Injectable()
export class RegistrationsRepository {
  async add(em: EntityManager, registration: PendingRegistration): Promise<void> {
    await execute(
      em,
      'INSERT INTO registrations (id, email, password_hash, redirect_to, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [registration.id, registration.email, registration.passwordHash, registration.redirectTo, registration.createdAt, registration.expiresAt],
    );
  }

  /**
   * Locks up to `limit` registrations nobody has decided about yet, oldest first. Rows another
   * instance holds are skipped, so instances share the queue.
   */
  async lockUndecidedBatch(em: EntityManager, limit: number): Promise<PendingRegistration[]> {
    const rows = await execute<Row[]>(
      em,
      `SELECT ${COLUMNS} FROM registrations WHERE processed_at IS NULL ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map(toRegistration);
  }

  async markDecided(em: EntityManager, id: string, now: Date): Promise<void> {
    await execute(em, 'UPDATE registrations SET processed_at = ? WHERE id = ?', [now, id]);
  }

  async findById(em: EntityManager, id: string): Promise<PendingRegistration | null> {
    const rows = await execute<Row[]>(em, `SELECT ${COLUMNS} FROM registrations WHERE id = ?`, [id]);
    return rows.length === 0 ? null : toRegistration(rows[0]);
  }

  /** Locks the registration until the transaction ends; null when it is gone (confirmed elsewhere, expired). */
  async findByIdForUpdate(em: EntityManager, id: string): Promise<PendingRegistration | null> {
    const rows = await execute<Row[]>(em, `SELECT ${COLUMNS} FROM registrations WHERE id = ? FOR UPDATE`, [id]);
    return rows.length === 0 ? null : toRegistration(rows[0]);
  }

  /** The newest registration of the address that has not expired. */
  async findNewestLive(em: EntityManager, email: string, now: Date): Promise<PendingRegistration | null> {
    const rows = await execute<Row[]>(
      em,
      `SELECT ${COLUMNS} FROM registrations WHERE email = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
      [email, now],
    );
    return rows.length === 0 ? null : toRegistration(rows[0]);
  }

  async extend(em: EntityManager, id: string, expiresAt: Date): Promise<void> {
    await execute(em, 'UPDATE registrations SET expires_at = greatest(expires_at, ?) WHERE id = ?', [expiresAt, id]);
  }

  /**
   * Whether the address has a registration besides this one, live or not. Expired ones stay until
   * the address has no live registration left (see `purgeExpired`), so this also answers whether
   * another registration overlapped this one's lifetime.
   */
  async hasOthersForEmail(em: EntityManager, email: string, id: string): Promise<boolean> {
    const rows = await execute<unknown[]>(em, 'SELECT 1 FROM registrations WHERE email = ? AND id <> ? LIMIT 1', [email, id]);
    return rows.length > 0;
  }

  /** Whether the address has any registration, live or not. */
  async existForEmail(em: EntityManager, email: string): Promise<boolean> {
    const rows = await execute<unknown[]>(em, 'SELECT 1 FROM registrations WHERE email = ? LIMIT 1', [email]);
    return rows.length > 0;
  }

  /** Discards registrations of the address (with their confirmation tokens, by cascade). */
  async discardForEmail(em: EntityManager, email: string): Promise<void> {
    await execute(em, 'DELETE FROM registrations WHERE email = ?', [email]);
  }

  async discard(em: EntityManager, id: string): Promise<void> {
    await execute(em, 'DELETE FROM registrations WHERE id = ?', [id]);
  }

  /**
   * Registrations whose links can no longer be used, once their address has no live registration
   * left: while one is live, the expired ones are the record that the address was registered
   * more than once, which its confirmation must know (decision 017).
   */
  async purgeExpired(em: EntityManager, now: Date): Promise<void> {
    await execute(
      em,
      `DELETE FROM registrations r WHERE r.expires_at <= ? AND r.processed_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM registrations live WHERE live.email = r.email AND live.expires_at > ?)`,
      [now, now],
    );
  }
}

interface Row {
  id: string;
  email: string;
  password_hash: string;
  redirect_to: string | null;
  created_at: string | Date;
  expires_at: string | Date;
}

function toRegistration(row: Row): PendingRegistration {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    redirectTo: row.redirect_to,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
  };
}

function execute<T = unknown>(em: EntityManager, sql: string, params: unknown[]): Promise<T> {
  return em.getConnection().execute<T & object>(sql, params, 'all', em.getTransactionContext()) as Promise<T>;
}
