import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { ApiKeyAuthenticator } from '../../src/api-keys/api-key.authenticator';
import { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { JwtStrategy } from '../../src/auth/strategies/jwt.strategy';
import { AccessTokenService } from '../../src/auth/tokens/access-token.service';
import { sql } from '../support/accounts';
import { recordQueries } from '../support/query-recorder';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { insertUserWithSession, signedInUser } from '../support/signed-in-user';
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

  const me = (service: TestApp, token: string) => service.request('GET', '/users/me', { headers: { authorization: `Bearer ${token}` } });

  it('serves a token seen before without any database statement', async () => {
    const user = await insertUserWithSession(first.app);
    const { access_token } = first.app.get(AccessTokenService).issue(user, user.sessionId);
    expect((await me(first, access_token)).status).toBe(200);
    const statements = recordQueries(first.app);
    try {
      for (let i = 0; i < 20; i++) expect((await me(first, access_token)).status).toBe(200);
    } finally {
      statements.stop();
    }
    expect(statements.all.map((statement) => statement.sql)).toEqual([]);
  });

  it('decides a credential seen before from memory, answering exactly as the first time', async () => {
    const user = await signedInUser(first.app, `memory-${randomUUID()}@example.com`);
    const newKey = async () => (await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'memory' } })).body.key as string;
    // Credentials never seen: a token of its own (the one that made the keys is known already),
    // and a key for each header (a key is known by its value, whichever header brought it).
    const { access_token } = first.app.get(AccessTokenService).issue(user, user.sessionId);
    const credentials: Record<string, string>[] = [{ authorization: `Bearer ${access_token}` }, { 'x-api-key': await newKey() }, { authorization: `Bearer ${await newKey()}` }];
    const verifiedToken = jest.spyOn(first.app.get(JwtStrategy), 'validate');
    const lookedUpKey = jest.spyOn(first.app.get(ApiKeyAuthenticator), 'authenticate');
    const strategiesRun = () => verifiedToken.mock.calls.length + lookedUpKey.mock.calls.length;
    // Headers that differ between any two responses.
    const comparable = (response: TestResponse) => ({
      status: response.status,
      text: response.text,
      headers: [...response.headers].filter(([name]) => name !== 'x-request-id' && name !== 'date'),
    });
    try {
      for (const headers of credentials) {
        const before = strategiesRun();
        const firstSight = await first.request('GET', '/users/me', { headers });
        // The first sight of the credential runs its passport strategy.
        expect(strategiesRun()).toBe(before + 1);
        const again = await first.request('GET', '/users/me', { headers });
        expect(strategiesRun()).toBe(before + 1);
        expect(firstSight.status).toBe(200);
        expect(JSON.parse(again.text)).toMatchObject({ id: user.id, email: user.email });
        expect(comparable(again)).toEqual(comparable(firstSight));
        expect(again.headers.get('x-request-id')).not.toBe(firstSight.headers.get('x-request-id'));
      }
    } finally {
      verifiedToken.mockRestore();
      lookedUpKey.mockRestore();
    }
  });

  it("authenticates with each app's own strategies, two apps in one process", async () => {
    const user = await insertUserWithSession(first.app);
    const { access_token } = first.app.get(AccessTokenService).issue(user, user.sessionId);
    const firstStrategy = jest.spyOn(first.app.get(JwtStrategy), 'validate');
    const secondStrategy = jest.spyOn(second.app.get(JwtStrategy), 'validate');
    try {
      expect((await me(first, access_token)).status).toBe(200);
      expect([firstStrategy.mock.calls.length, secondStrategy.mock.calls.length]).toEqual([1, 0]);
      expect((await me(second, access_token)).status).toBe(200);
      expect([firstStrategy.mock.calls.length, secondStrategy.mock.calls.length]).toEqual([1, 1]);
    } finally {
      firstStrategy.mockRestore();
      secondStrategy.mockRestore();
    }
  });

  it('answers HEAD on /users/me as GET, without a body', async () => {
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
    const user = await insertUserWithSession(first.app);
    const { kid, privateKey } = first.app.get(SigningKeyRing).signingKey();
    const now = Math.floor(Date.now() / 1000);
    const token = sign(
      { iss: first.config.tokens.issuer, aud: first.config.tokens.audience, sub: user.id, email: user.email, sid: user.sessionId, iat: now, exp: now + 2 },
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
    const user = await insertUserWithSession(first.app);
    const { access_token } = first.app.get(AccessTokenService).issue(user, user.sessionId);
    for (const service of [first, second]) expect((await me(service, access_token)).body.email_confirmed_at).toBeNull();

    await sql(first, 'UPDATE users SET email_confirmed_at = now() WHERE id = ?', [user.id]);
    for (const service of [first, second]) {
      const { value, elapsedMs } = await within(2000, () => me(service, access_token), (response) => response.body.email_confirmed_at !== null);
      expect(value.body.email_confirmed_at).toEqual(expect.stringMatching(/^\d{4}-.*Z$/));
      expect(elapsedMs).toBeLessThan(2000);
    }
  });

  it('rejects the cached token of a deleted user on every instance', async () => {
    const user = await insertUserWithSession(first.app);
    const { access_token } = first.app.get(AccessTokenService).issue(user, user.sessionId);
    for (const service of [first, second]) expect((await me(service, access_token)).status).toBe(200);

    await sql(first, 'DELETE FROM users WHERE id = ?', [user.id]);
    for (const service of [first, second]) {
      const { value } = await within(2000, () => me(service, access_token), (response) => response.status === 401);
      expect(value.status).toBe(401);
      expect(value.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
  });
});
