import { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { AccessTokenService } from '../../src/auth/tokens/access-token.service';
import { UsersRepository } from '../../src/users/users.repository';
import type { TestApp } from './test-app';

export interface SignedInUser {
  id: string;
  email: string;
  accessToken: string;
}

/**
 * A user row and an access token for it, straight from the service's own repository and token
 * service: for suites that need a caller but are not about signing up or logging in.
 */
export async function signedInUser(service: TestApp, email = `user-${randomUUID()}@example.com`): Promise<SignedInUser> {
  const user = await service.app
    .get(EntityManager)
    .fork()
    .transactional((em) => service.app.get(UsersRepository).insertIfEmailFree(em, email, 'not-a-real-hash'));
  if (!user) throw new Error(`the test user ${email} was not inserted`);
  const { access_token } = await service.app.get(AccessTokenService).issue({ id: user.id, email: user.email }, randomUUID());
  return { id: user.id, email: user.email, accessToken: access_token };
}
