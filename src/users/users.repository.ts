import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { UserEntity } from './user.entity';

/** Every query on users. Methods that write take the caller's transaction. */
@Injectable()
export class UsersRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string, em: EntityManager = this.em.fork()): Promise<UserEntity | null> {
    return em.findOne(UserEntity, { id });
  }

  /** `email` must already be normalised (trimmed, lower-cased). */
  findByEmail(email: string, em: EntityManager = this.em.fork()): Promise<UserEntity | null> {
    return em.findOne(UserEntity, { email });
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
