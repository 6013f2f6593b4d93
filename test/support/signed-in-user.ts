import { EntityManager } from '@mikro-orm/postgresql';
import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AccessTokenService } from '../../src/auth/tokens/access-token.service';
import { inTransaction } from '../../src/database/transaction';
import { UsersRepository } from '../../src/users/users.repository';

export interface SignedInUser {
  id: string;
  email: string;
  /** `{ authorization: 'Bearer <access token>' }`, ready to pass as headers. */
  jwt: Record<string, string>;
}

/** A confirmed user and a session access token for it, made through the app's own services. */
export async function signedInUser(app: INestApplication, email: string): Promise<SignedInUser> {
  const em = app.get(EntityManager);
  const user = await inTransaction(em, (tx) => app.get(UsersRepository).insertIfEmailFree(tx, email, 'not-a-password-hash'));
  if (!user) throw new Error(`${email} exists already`);
  await em.getConnection().execute('UPDATE users SET email_confirmed_at = now() WHERE id = ?', [user.id]);
  const { access_token } = app.get(AccessTokenService).issue({ id: user.id, email }, randomUUID());
  return { id: user.id, email, jwt: { authorization: `Bearer ${access_token}` } };
}
