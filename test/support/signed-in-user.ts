import { EntityManager } from '@mikro-orm/postgresql';
import { INestApplication } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { SessionsRepository } from '../../src/accounts/sessions/sessions.repository';
import { AccessTokenService, IssuedAccessToken } from '../../src/auth/tokens/access-token.service';
import { inTransaction } from '../../src/database/transaction';
import { UsersRepository } from '../../src/users/users.repository';

export interface SignedInUser {
  id: string;
  email: string;
  /** The session the access token belongs to. */
  sessionId: string;
  /** `{ authorization: 'Bearer <access token>' }`, ready to pass as headers. */
  jwt: Record<string, string>;
}

/** A confirmed user and a session access token for it, made through the app's own services. */
export async function signedInUser(app: INestApplication, email: string): Promise<SignedInUser> {
  const em = app.get(EntityManager);
  const user = await inTransaction(em, (tx) => app.get(UsersRepository).insertIfEmailFree(tx, email, 'not-a-password-hash'));
  if (!user) throw new Error(`${email} exists already`);
  await em.getConnection().execute('UPDATE users SET email_confirmed_at = now() WHERE id = ?', [user.id]);
  const { sessionId, access_token } = await openTestSession(app, { id: user.id, email });
  return { id: user.id, email, sessionId, jwt: { authorization: `Bearer ${access_token}` } };
}

/** A user whose address is not confirmed yet, made through the app's own repository. */
export interface UserWithSession {
  id: string;
  email: string;
  createdAt: Date;
  updatedAt: Date;
  /** A live session of the user: access tokens are good only while their session is. */
  sessionId: string;
}

/** A user with no confirmed address and a live session, for tests that issue its tokens themselves. */
export async function insertUserWithSession(app: INestApplication, email = `user-${randomUUID()}@example.com`): Promise<UserWithSession> {
  const user = await inTransaction(app.get(EntityManager), (tx) => app.get(UsersRepository).insertIfEmailFree(tx, email, 'not-a-password-hash'));
  if (!user) throw new Error(`${email} exists already`);
  return { id: user.id, email: user.email, createdAt: user.createdAt, updatedAt: user.updatedAt, sessionId: await openLiveSession(app, user.id) };
}

/**
 * A live session of `user` (stored as a login stores it, with a refresh token nobody holds) and an
 * access token for it: access tokens are only good while their session is.
 */
export async function openTestSession(app: INestApplication, user: { id: string; email: string }): Promise<IssuedAccessToken & { sessionId: string }> {
  const sessionId = await openLiveSession(app, user.id);
  return { ...app.get(AccessTokenService).issue(user, sessionId), sessionId };
}

/** Stores a live session of `userId`, as a login does, and answers its id. */
export async function openLiveSession(app: INestApplication, userId: string): Promise<string> {
  const now = new Date();
  const id = randomUUID();
  const em = app.get(EntityManager);
  const [{ password_hash: passwordHash }] = await em.getConnection().execute<{ password_hash: string }[]>('SELECT password_hash FROM users WHERE id = ?', [userId]);
  const opened = await app.get(SessionsRepository).open(
    em,
    { id, userId, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000), userAgent: null, ip: null },
    { tokenHash: randomBytes(32).toString('hex') },
    passwordHash,
  );
  if (!opened) throw new Error(`no session opened for user ${userId}`);
  return id;
}
