import { sign } from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { SessionRevocations } from '../../src/auth/tokens/session.revocations';
import { SESSION_REVOKED_CHANNEL } from '../../src/auth/tokens/session-revocation.subjects';
import { PgListener } from '../../src/database/pg-listener';
import { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, linkStartingWith, login, nextMailTo, sql, uniqueEmail } from '../support/accounts';
import { recordQueries } from '../support/query-recorder';
import { TestSmtpServer } from '../support/smtp';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';
const REFUSED = { status: 401, body: { statusCode: 401, code: 'INVALID_OR_EXPIRED_TOKEN', error: 'Invalid or expired token', request_id: expect.any(String) } };
const GRACE_SECONDS = 1;

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(10);
  }
}

interface Session {
  access_token: string;
  refresh_token: string;
  sid: string;
}

/**
 * The attacker holds a session's access token; the owner (or the service) ends the session. From
 * the moment the ending request answers, the token opens nothing, on either instance, and above
 * all cannot mint an API key that would outlive the session.
 */
describe('access tokens end with their session (two instances, one PostgreSQL, real SMTP)', () => {
  let database: TestDatabase;
  let smtp: TestSmtpServer;
  let first: TestApp;
  let second: TestApp;
  let instances: TestApp[];

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await new TestSmtpServer().start();
    // Both send mail: either outbox worker may pick up the reset mail.
    const env = { ...GENEROUS_RATE_LIMITS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60', REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS), SMTP_URL: smtp.url };
    first = await startTestApp({ database, env });
    second = await startTestApp({ database, env });
    instances = [first, second];
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
    await smtp?.stop();
    await database?.drop();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const me = (service: TestApp, token: string) => service.request('GET', '/users/me', { headers: bearer(token) });
  const createKey = (service: TestApp, token: string) => service.request('POST', '/auth/api-keys', { headers: bearer(token), body: { name: 'persistence' } });
  const logout = (service: TestApp, token: string, scope: 'local' | 'others' | 'global') => service.request('POST', `/auth/logout?scope=${scope}`, { headers: bearer(token) });
  const outcome = (response: { status: number; body: unknown }) => ({ status: response.status, body: response.body });

  async function newAccount(): Promise<string> {
    const email = uniqueEmail('revocation');
    await createConfirmedUser(first, email, PASSWORD);
    return email;
  }

  async function logIn(email: string, service = first): Promise<Session> {
    const { session } = await login(service, email, PASSWORD);
    const sid = JSON.parse(Buffer.from(session.access_token.split('.')[1], 'base64url').toString()).sid;
    return { access_token: session.access_token, refresh_token: session.refresh_token, sid };
  }

  /** Every instance has verified the token and now answers it from memory, without a statement. */
  async function seenEverywhere(token: string): Promise<void> {
    for (const service of instances) {
      expect((await me(service, token)).status).toBe(200);
      const queries = recordQueries(service.app);
      try {
        expect((await me(service, token)).status).toBe(200);
      } finally {
        queries.stop();
      }
      expect(queries.sql).toEqual([]);
    }
  }

  /** The attacker's next moves with the token, on both instances: both refused. */
  async function expectTokenDead(token: string): Promise<void> {
    for (const service of instances) {
      expect(outcome(await me(service, token))).toEqual(REFUSED);
      expect(outcome(await createKey(service, token))).toEqual(REFUSED);
    }
  }

  async function expectTokenAlive(token: string): Promise<void> {
    for (const service of instances) expect((await me(service, token)).status).toBe(200);
  }

  it('checks a token the first time an instance sees it, in one statement, and never again', async () => {
    const session = await logIn(await newAccount());
    const queries = recordQueries(second.app);
    try {
      expect((await me(second, session.access_token)).status).toBe(200);
      const firstSight = [...queries.sql];
      for (let i = 0; i < 20; i++) expect((await me(second, session.access_token)).status).toBe(200);
      expect(firstSight).toEqual([expect.stringMatching(/from sessions s join users u .*s\.revoked_at is null and s\.expires_at > now\(\)/is)]);
      expect(queries.sql).toEqual(firstSight);
    } finally {
      queries.stop();
    }
  });

  it('logout (local): the token that logged out is dead on both instances once the 204 is sent, other sessions live on', async () => {
    const email = await newAccount();
    const stolen = await logIn(email);
    const other = await logIn(email);
    await seenEverywhere(stolen.access_token);
    await seenEverywhere(other.access_token);

    expect((await logout(first, stolen.access_token, 'local')).status).toBe(204);
    await expectTokenDead(stolen.access_token);
    await expectTokenAlive(other.access_token);
  });

  it('logout (others): every other session\'s token is dead on both instances, the caller\'s lives on', async () => {
    const email = await newAccount();
    const owner = await logIn(email);
    const stolen = [await logIn(email), await logIn(email, second)];
    for (const session of [owner, ...stolen]) await seenEverywhere(session.access_token);

    expect((await logout(second, owner.access_token, 'others')).status).toBe(204);
    for (const session of stolen) await expectTokenDead(session.access_token);
    await expectTokenAlive(owner.access_token);
  });

  it('logout (global): every session\'s token is dead on both instances, the caller\'s too', async () => {
    const email = await newAccount();
    const sessions = [await logIn(email), await logIn(email)];
    for (const session of sessions) await seenEverywhere(session.access_token);

    expect((await logout(first, sessions[0].access_token, 'global')).status).toBe(204);
    for (const session of sessions) await expectTokenDead(session.access_token);
    // Logging in again gives a working token: the user is not shut out.
    await expectTokenAlive((await logIn(email)).access_token);
  });

  it('password reset through the mailed link: the old tokens are dead on both instances once it answers', async () => {
    const email = await newAccount();
    const stolen = await logIn(email);
    await seenEverywhere(stolen.access_token);

    // The confirmation mail of the registration comes first.
    await nextMailTo(smtp, email, 0);
    expect((await first.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    const link = linkStartingWith(await nextMailTo(smtp, email, 1), 'http://dashboard.test/?token=');
    const token = new URL(link).searchParams.get('token');
    expect((await second.request('POST', '/auth/reset-password', { body: { token, password: 'a brand new passphrase' } })).status).toBe(200);

    await expectTokenDead(stolen.access_token);
  });

  it('refresh-token reuse after the grace interval: every access token of the session is dead on both instances', async () => {
    const email = await newAccount();
    const stolen = await logIn(email);
    const refreshed = await first.request('POST', '/auth/refresh', { body: { refresh_token: stolen.refresh_token } });
    expect(refreshed.status).toBe(200);
    const current = refreshed.body.session.access_token as string;
    await seenEverywhere(stolen.access_token);
    await seenEverywhere(current);

    await sleep(GRACE_SECONDS * 1000 + 200);
    const reuse = await second.request('POST', '/auth/refresh', { body: { refresh_token: stolen.refresh_token } });
    expect(reuse.status).toBe(401);
    for (const token of [stolen.access_token, current]) await expectTokenDead(token);
  });

  it('holds the revoking request until every listening instance has acknowledged, or for the timeout', async () => {
    // A third listener on the channel, as an instance would be, that never acknowledges.
    const silent = new Client({ connectionString: database.url, application_name: PgListener.applicationName(SESSION_REVOKED_CHANNEL) });
    await silent.connect();
    await silent.query(`LISTEN ${SESSION_REVOKED_CHANNEL}`);
    const email = await newAccount();
    const timedLogout = async () => {
      const session = await logIn(email);
      const started = Date.now();
      expect((await logout(first, session.access_token, 'local')).status).toBe(204);
      return Date.now() - started;
    };
    try {
      expect(await timedLogout()).toBeGreaterThanOrEqual(1_900);
    } finally {
      await silent.end();
    }
    // Both real instances acknowledge at once.
    expect(await timedLogout()).toBeLessThan(1_000);
  });

  it('a token whose session belongs to another user, or does not exist, is refused', async () => {
    const victim = await logIn(await newAccount());
    const attacker = await logIn(await newAccount());
    const { kid, privateKey } = first.app.get(SigningKeyRing).signingKey();
    const claims = JSON.parse(Buffer.from(attacker.access_token.split('.')[1], 'base64url').toString());
    for (const sid of [victim.sid, '00000000-0000-4000-8000-000000000000']) {
      const token = sign({ ...claims, sid }, privateKey, { algorithm: 'ES256', keyid: kid });
      expect(outcome(await me(first, token))).toEqual(REFUSED);
    }
  });

  describe('claims', () => {
    async function signed(overrides: Record<string, unknown>, drop: string[] = []): Promise<string> {
      const session = await logIn(await newAccount());
      const claims = { ...JSON.parse(Buffer.from(session.access_token.split('.')[1], 'base64url').toString()), ...overrides };
      for (const name of drop) delete claims[name];
      const { kid, privateKey } = first.app.get(SigningKeyRing).signingKey();
      return sign(claims, privateKey, { algorithm: 'ES256', keyid: kid, noTimestamp: !('iat' in claims) });
    }
    const now = () => Math.floor(Date.now() / 1000);

    it('refuses a token without exp', async () => {
      expect(outcome(await me(first, await signed({}, ['exp'])))).toEqual(REFUSED);
    });

    it('refuses a token without iat', async () => {
      expect(outcome(await me(first, await signed({}, ['iat'])))).toEqual(REFUSED);
    });

    it('refuses a token issued more than 60 s in the future, and accepts one within the 60 s clock skew', async () => {
      expect(outcome(await me(first, await signed({ iat: now() + 120 })))).toEqual(REFUSED);
      expect((await me(first, await signed({ iat: now() + 30 }))).status).toBe(200);
    });
  });

  it('after its LISTEN connection drops, an instance checks every token it remembers again', async () => {
    const session = await logIn(await newAccount());
    await seenEverywhere(session.access_token);
    const revocations = instances.map((service) => service.app.get(SessionRevocations));
    // The server ends both instances' listening connections, as a failover or a network cut would.
    await sql(first, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?', [PgListener.applicationName(SESSION_REVOKED_CHANNEL)]);
    await waitUntil(() => revocations.every((instance) => !instance.listening));
    await waitUntil(() => revocations.every((instance) => instance.listening));
    // Revocations sent while it was deaf are lost, so what it remembered counts for nothing now.
    const queries = recordQueries(second.app);
    try {
      expect((await me(second, session.access_token)).status).toBe(200);
    } finally {
      queries.stop();
    }
    expect(queries.sql).toHaveLength(1);
    await seenEverywhere(session.access_token);
  });

  it('an instance that cannot hear revocations answers nothing from memory, and trusts it again once it can', async () => {
    const email = await newAccount();
    const session = await logIn(email);
    await seenEverywhere(session.access_token);
    const revocations = second.app.get(SessionRevocations);
    await revocations.onApplicationShutdown();
    try {
      expect(revocations.listening).toBe(false);
      // Still good, but checked in the database on every request.
      for (let i = 0; i < 3; i++) {
        const queries = recordQueries(second.app);
        try {
          expect((await me(second, session.access_token)).status).toBe(200);
        } finally {
          queries.stop();
        }
        expect(queries.sql).toHaveLength(1);
      }
      // A revocation this instance cannot hear (by hand, no notification) is seen on the next request.
      await sql(first, 'UPDATE sessions SET revoked_at = now() WHERE id = ?', [session.sid]);
      expect(outcome(await me(second, session.access_token))).toEqual(REFUSED);
    } finally {
      await revocations.onModuleInit();
    }
    expect(revocations.listening).toBe(true);
    await seenEverywhere((await logIn(email)).access_token);
  });
});
