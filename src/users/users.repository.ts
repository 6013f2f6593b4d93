import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuthenticatedUser } from '../common/auth/principal';
import { UserEntity } from './user.entity';

/** The columns `toAuthenticatedUser` reads. */
const AUTHENTICATED_USER_COLUMNS = 'id, email, email_confirmed_at, created_at, updated_at';
/** The same, of `users` joined as `u`: for the reads that check a credential and load its user at once. */
export const AUTHENTICATED_USER_COLUMNS_OF_U = AUTHENTICATED_USER_COLUMNS.replace(/(\w+)/g, 'u.$1');

/** A user as login needs it: who it is, and the password hash to verify against. */
export interface LoginAccount extends AuthenticatedUser {
  passwordHash: string;
}

/** Every query on users. Methods that write take the caller's transaction. */
@Injectable()
export class UsersRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string, em: EntityManager = this.em.fork()): Promise<UserEntity | null> {
    return em.findOne(UserEntity, { id });
  }

  /**
   * The user an access token names, and when its session ends, if that session is theirs and
   * live (neither revoked nor expired): one indexed read, whatever the answer. Given `signedBy`,
   * the token's kid when the signing keys are kept in the database, the same read says whether
   * that key has retired: a key retired at once (decision 028) is refused on first sight by every
   * instance, whether or not its key ring has heard of the retirement yet.
   */
  async findAuthenticatedInLiveSession(
    id: string,
    sessionId: string,
    signedBy?: string,
  ): Promise<{ user: AuthenticatedUser; sessionExpiresAtMs: number; keyRetired: boolean } | null> {
    const keyRetired =
      signedBy === undefined ? 'false' : 'NOT EXISTS (SELECT 1 FROM signing_keys k WHERE k.kid = ? AND (k.retire_at IS NULL OR k.retire_at > now()))';
    const rows = await this.em.getConnection().execute<Record<string, any>[]>(
      `SELECT ${AUTHENTICATED_USER_COLUMNS_OF_U}, (extract(epoch FROM s.expires_at) * 1000)::float8 AS session_expires_at_ms, ${keyRetired} AS key_retired
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = ? AND s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > now()`,
      signedBy === undefined ? [sessionId, id] : [signedBy, sessionId, id],
    );
    if (rows.length === 0) return null;
    return { user: toAuthenticatedUser(rows[0]), sessionExpiresAtMs: rows[0].session_expires_at_ms, keyRetired: rows[0].key_retired === true };
  }

  /** Whether the user's session `sessionId` is live (neither revoked nor expired), read in `em`'s transaction. */
  async hasLiveSession(em: EntityManager, id: string, sessionId: string): Promise<boolean> {
    const rows = await em
      .getConnection()
      .execute<unknown[]>('SELECT 1 FROM sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > now()', [sessionId, id], 'all', em.getTransactionContext());
    return rows.length > 0;
  }

  /**
   * What a login checks, as plain records: one statement, no unit of work, no entity to hydrate
   * (hydrating one was much of the look-up's time, on the path every login waits on). `email` as for
   * `findByEmail`.
   *
   * The confirmed user of the address, and the newest unconfirmed candidate: a user row from
   * before pending registrations, or a live pending registration. An unconfirmed one can only
   * ever answer 403 EMAIL_NOT_VERIFIED, so its password proves nothing but that the right one was
   * typed.
   */
  async findLoginAccounts(email: string): Promise<{ confirmed?: LoginAccount; unconfirmed?: LoginAccount }> {
    const rows = await this.em.getConnection().execute<Record<string, any>[]>(
      `SELECT DISTINCT ON (email_confirmed_at IS NULL) * FROM (
         SELECT ${AUTHENTICATED_USER_COLUMNS}, password_hash FROM users WHERE lower(email) = ?
         UNION ALL
         SELECT id, email, NULL, created_at, created_at, password_hash FROM registrations WHERE email = ? AND expires_at > now()
       ) AS candidates ORDER BY email_confirmed_at IS NULL, created_at DESC`,
      [email, email],
    );
    const accounts: { confirmed?: LoginAccount; unconfirmed?: LoginAccount } = {};
    for (const row of rows) {
      const account = { ...toAuthenticatedUser(row), passwordHash: row.password_hash as string };
      if (account.emailConfirmedAt) accounts.confirmed = account;
      else accounts.unconfirmed = account;
    }
    return accounts;
  }

  /** Locks the user of this address until the transaction ends. */
  async findByEmailForUpdate(em: EntityManager, email: string): Promise<UserEntity | null> {
    const rows = await em
      .getConnection()
      .execute<Record<string, unknown>[]>('SELECT * FROM users WHERE lower(email) = ? FOR UPDATE', [email], 'all', em.getTransactionContext());
    return rows.length === 0 ? null : em.map(UserEntity, rows[0]);
  }

  /**
   * A user whose address was just proved, with the password of the registration that proved it.
   * Null when the address is taken (another registration of it was confirmed first).
   */
  async insertConfirmed(em: EntityManager, user: { id: string; email: string; passwordHash: string; createdAt: Date }, now: Date): Promise<string | null> {
    const rows = await em.getConnection().execute<Array<{ id: string }>>(
      `INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT ((lower(email))) DO NOTHING RETURNING id`,
      [user.id, user.email, user.passwordHash, now, user.createdAt, now],
      'all',
      em.getTransactionContext(),
    );
    return rows.length === 0 ? null : rows[0].id;
  }

  /** Confirms the address; a confirmed one keeps the time it was first confirmed. */
  async confirmEmail(em: EntityManager, id: string, now: Date): Promise<void> {
    await em.nativeUpdate(UserEntity, { id, emailConfirmedAt: null }, { emailConfirmedAt: now, updatedAt: now });
  }

  /**
   * A new password hash. It came through a link mailed to the address, which proves the address:
   * an unconfirmed one becomes confirmed.
   */
  async setPassword(em: EntityManager, id: string, passwordHash: string, now: Date): Promise<void> {
    await em.getConnection().execute(
      'UPDATE users SET password_hash = ?, email_confirmed_at = coalesce(email_confirmed_at, ?), updated_at = ? WHERE id = ?',
      [passwordHash, now, now, id],
      'run',
      em.getTransactionContext(),
    );
  }

  /**
   * Holds the user's row (`FOR SHARE`) until the transaction ends, so that whatever changes the
   * user's sessions takes the row before any session, in the order a password reset or change
   * does: the two then wait for each other rather than deadlock.
   */
  async lockForShare(em: EntityManager, id: string): Promise<void> {
    await em.getConnection().execute('SELECT 1 FROM users WHERE id = ? FOR SHARE', [id], 'all', em.getTransactionContext());
  }

  /**
   * A new password hash in place of `currentHash`, the one the caller verified; answers false,
   * changing nothing, when the password is no longer that one (reset or changed meanwhile).
   */
  async replacePassword(em: EntityManager, id: string, currentHash: string, passwordHash: string, now: Date): Promise<boolean> {
    const result = await em.getConnection().execute<{ affectedRows: number }>(
      'UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?',
      [passwordHash, now, id, currentHash],
      'run',
      em.getTransactionContext(),
    );
    return result.affectedRows === 1;
  }

  /**
   * `email` must already be normalised (trimmed, lower-cased). Matched as `lower(email)`, which
   * the unique index covers: `email = ?` would read the whole table on every login.
   */
  async findByEmail(email: string, em: EntityManager = this.em.fork()): Promise<UserEntity | null> {
    const rows = await em
      .getConnection()
      .execute<Record<string, unknown>[]>('SELECT * FROM users WHERE lower(email) = ?', [email], 'all', em.getTransactionContext());
    return rows.length === 0 ? null : em.map(UserEntity, rows[0]);
  }

  /**
   * Inserts a user unless the email is taken, and answers null then. The unique index decides,
   * not a prior read, so concurrent registrations of one email leave one user.
   */
  async insertIfEmailFree(em: EntityManager, email: string, passwordHash: string): Promise<UserEntity | null> {
    const rows = await em.getConnection().execute<Record<string, unknown>[]>(
      `INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), ?, ?)
       ON CONFLICT ((lower(email))) DO NOTHING RETURNING *`,
      [email, passwordHash],
      'all',
      em.getTransactionContext(),
    );
    return rows.length === 0 ? null : em.map(UserEntity, rows[0]);
  }
}

export function toAuthenticatedUser(row: Record<string, any>): AuthenticatedUser {
  return {
    id: row.id,
    email: row.email,
    emailConfirmedAt: row.email_confirmed_at === null ? null : new Date(row.email_confirmed_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
