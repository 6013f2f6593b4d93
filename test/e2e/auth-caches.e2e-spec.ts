import { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { CombinedAuthGuard } from '../../src/auth/guards/combined-auth.guard';
import { SigningKeyRing } from '../../src/auth/keys/signing-key-ring';
import { AccessTokenService } from '../../src/auth/tokens/access-token.service';
import { UsersRepository } from '../../src/users/users.repository';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { signedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp, TestResponse } from '../support/test-app';
import { within } from '../support/wait';

/**
 * The verified-token and user caches make a credential seen before cost no database read;
 * these tests prove they never serve what has changed: expiry, user changes and deletions are
 * seen by the next requests on every instance (within the NOTIFY delivery, milliseconds).
 */
describe('authentication caches (two instances, one database)', () => {
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The outbox worker's polls would show up in the statement count; nothing here sends mail.
    const env = { MAIL_POLL_INTERVAL_MS: '60000' };
    first = await startTestApp({ database, env });
    second = await startTestApp({ database, env });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
  });

  async function insertUser(): Promise<{ id: string; email: string }> {
    const email = `cache-${randomUUID()}@example.com`;
    const user = await first.app.get(EntityManager).fork().transactional((em) => first.app.get(UsersRepository).insertIfEmailFree(em, email, 'x'));
    return { id: user!.id, email };
  }

  const sql = (query: string, params: unknown[] = []) => first.app.get(EntityManager).fork().getConnection().execute(query, params);
  const me = (service: TestApp, token: string) => service.request('GET', '/users/me', { headers: { authorization: `Bearer ${token}` } });

  /** Statements the app sends to PostgreSQL while `action` runs. */
  async function countQueries(service: TestApp, action: () => Promise<void>): Promise<string[]> {
    const knex = service.app.get(EntityManager).getConnection().getKnex();
    const seen: string[] = [];
    const listener = (query: { sql: string }) => seen.push(query.sql);
    knex.on('query', listener);
    try {
      await action();
    } finally {
      knex.off('query', listener);
    }
    return seen;
  }

  it('serves a token seen before without any database statement', async () => {
    const user = await insertUser();
    const { access_token } = first.app.get(AccessTokenService).issue(user, randomUUID());
    expect((await me(first, access_token)).status).toBe(200);
    const statements = await countQueries(first, async () => {
      for (let i = 0; i < 20; i++) expect((await me(first, access_token)).status).toBe(200);
    });
    expect(statements).toEqual([]);
  });

  it('answers a credential seen before without Nest, exactly as Nest does', async () => {
    const user = await signedInUser(first.app, `at-once-${randomUUID()}@example.com`);
    const newKey = async () => (await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'at once' } })).body.key as string;
    // Credentials never seen: a token of its own (the one that made the keys is known already),
    // and a key for each header (a key is known by its value, whichever header brought it).
    const { access_token } = first.app.get(AccessTokenService).issue(user, randomUUID());
    const credentials: Record<string, string>[] = [{ authorization: `Bearer ${access_token}` }, { 'x-api-key': await newKey() }, { authorization: `Bearer ${await newKey()}` }];
    const guard = first.app.get(CombinedAuthGuard);
    const throughNest = jest.spyOn(guard, 'canActivate');
    const admittedAtOnce = jest.spyOn(guard, 'admitAtOnce');
    // Headers that differ between any two responses.
    const comparable = (response: TestResponse) => ({
      status: response.status,
      text: response.text,
      headers: [...response.headers].filter(([name]) => name !== 'x-request-id' && name !== 'date'),
    });
    try {
      for (const headers of credentials) {
        throughNest.mockClear();
        const firstSight = await first.request('GET', '/users/me', { headers });
        // The first sight of the credential is decided by canActivate: Nest's pipeline.
        expect(throughNest).toHaveBeenCalledTimes(1);
        const again = await first.request('GET', '/users/me', { headers });
        expect(throughNest).toHaveBeenCalledTimes(1);
        expect(admittedAtOnce).toHaveLastReturnedWith(expect.objectContaining({ user: expect.objectContaining({ id: user.id }) }));
        expect(firstSight.status).toBe(200);
        expect(JSON.parse(again.text)).toMatchObject({ id: user.id, email: user.email });
        expect(comparable(again)).toEqual(comparable(firstSight));
        // Each answer names its own request.
        expect(again.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
        expect(again.headers.get('x-request-id')).not.toBe(firstSight.headers.get('x-request-id'));
      }
      // A JWT-only route is not answered at once: it still goes through canActivate.
      throughNest.mockClear();
      expect((await first.request('GET', '/auth/api-keys', { headers: user.jwt })).status).toBe(200);
      expect(throughNest).toHaveBeenCalledTimes(1);
    } finally {
      throughNest.mockRestore();
      admittedAtOnce.mockRestore();
    }
  });

  it('answers HEAD on a route answered at once as GET, without a body', async () => {
    const user = await signedInUser(first.app, `head-${randomUUID()}@example.com`);
    const url = `${first.baseUrl}/users/me`;
    const get = await fetch(url, { headers: user.jwt });
    const head = await fetch(url, { method: 'HEAD', headers: user.jwt });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(await head.text()).toBe('');
  });

  it('stops accepting a cached token the moment it expires', async () => {
    const user = await insertUser();
    const { kid, privateKey } = first.app.get(SigningKeyRing).signingKey();
    const now = Math.floor(Date.now() / 1000);
    const token = sign(
      { iss: first.config.tokens.issuer, aud: first.config.tokens.audience, sub: user.id, email: user.email, sid: randomUUID(), iat: now, exp: now + 2 },
      privateKey,
      { algorithm: 'ES256', keyid: kid },
    );
    expect((await me(first, token)).status).toBe(200);
    expect((await me(first, token)).status).toBe(200); // from the cache
    await new Promise((resolve) => setTimeout(resolve, (now + 2) * 1000 - Date.now() + 50));
    const expired = await me(first, token);
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('shows a change to the user on every instance', async () => {
    const user = await insertUser();
    const { access_token } = first.app.get(AccessTokenService).issue(user, randomUUID());
    for (const service of [first, second]) expect((await me(service, access_token)).body.email_confirmed_at).toBeNull();

    await sql('UPDATE users SET email_confirmed_at = now() WHERE id = ?', [user.id]);
    for (const service of [first, second]) {
      const { value, elapsedMs } = await within(2000, () => me(service, access_token), (response) => response.body.email_confirmed_at !== null);
      expect(value.body.email_confirmed_at).toEqual(expect.stringMatching(/^\d{4}-.*Z$/));
      expect(elapsedMs).toBeLessThan(2000);
    }
  });

  it('rejects the cached token of a deleted user on every instance', async () => {
    const user = await insertUser();
    const { access_token } = first.app.get(AccessTokenService).issue(user, randomUUID());
    for (const service of [first, second]) expect((await me(service, access_token)).status).toBe(200);

    await sql('DELETE FROM users WHERE id = ?', [user.id]);
    for (const service of [first, second]) {
      const { value } = await within(2000, () => me(service, access_token), (response) => response.status === 401);
      expect(value.status).toBe(401);
      expect(value.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
  });
});
