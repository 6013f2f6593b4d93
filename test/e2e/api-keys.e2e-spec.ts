import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKeyRevocationListener } from '../../src/api-keys/api-key-revocation.listener';
import { generateApiKey } from '../../src/api-keys/api-key-format';
import { recordQueries } from '../support/query-recorder';
import { SignedInUser, signedInUser } from '../support/signed-in-user';
import { TestSmtpServer } from '../support/smtp';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

const MAX_KEYS = 5;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const header = (key: string) => ({ 'x-api-key': key });

describe('API keys (real app, real PostgreSQL)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;
  let ada: SignedInUser;
  let bob: SignedInUser;
  /** Every key created in this file: none may ever reach a log line. */
  const issued: string[] = [];

  async function createKey(user: SignedInUser, body: Record<string, unknown> = {}) {
    const response = await service.request('POST', '/auth/api-keys', { headers: user.jwt, body });
    if (response.status === 201) issued.push(response.body.key);
    return response;
  }

  async function newKey(user: SignedInUser, body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
    const response = await createKey(user, body);
    expect(response.status).toBe(201);
    return response.body;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({
      database,
      databaseUrl: proxy.wrap(database.url),
      env: {
        LOG_LEVEL: 'debug',
        API_KEY_LAST_USED_INTERVAL_SECONDS: '1',
        API_KEY_MAX_ACTIVE_PER_USER: String(MAX_KEYS),
        // Failed authentications are much of this file: keep the per-IP limit out of the way.
        RATE_LIMIT_AUTH_FAILURE_IP: '100000/60',
      },
    });
    ada = await signedInUser(service.app, 'ada@example.com');
    bob = await signedInUser(service.app, 'bob@example.com');
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  it('creates a key that works with Authorization: Bearer and with X-Api-Key on /users/me', async () => {
    const created = await createKey(ada, { name: 'CI deploys' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(UUID),
      key: expect.stringMatching(/^atiru_[0-9A-Za-z]{38}$/),
      key_prefix: created.body.key.slice(0, 10),
      name: 'CI deploys',
      created_at: expect.stringMatching(ISO),
      expires_at: null,
      scopes: null,
    });
    const me = { id: ada.id, email: ada.email, created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO), email_confirmed_at: expect.stringMatching(ISO) };
    for (const headers of [bearer(created.body.key), header(created.body.key), { authorization: `bearer ${created.body.key}` }]) {
      const response = await service.request('GET', '/users/me', { headers });
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: me });
    }
  });

  it('reads Authorization: Bearer as it does for a JWT: the scheme in any case, then spaces or tabs, then the key alone', async () => {
    const { id, key } = await newKey(ada, { name: 'header forms' });
    const statuses: Record<string, number> = {};
    for (const authorization of [`BEARER ${key}`, `Bearer\t${key}`, `Bearer  \t ${key}`, `Bearer ${key} extra`, `Bearer${key}`]) {
      statuses[authorization.replace(key, '<key>')] = (await service.request('GET', '/users/me', { headers: { authorization } })).status;
    }
    expect(statuses).toEqual({ 'BEARER <key>': 200, 'Bearer\t<key>': 200, 'Bearer  \t <key>': 200, 'Bearer <key> extra': 401, 'Bearer<key>': 401 });
    // Out of the way of the per-user cap that a later test fills.
    expect((await service.request('DELETE', `/auth/api-keys/${id}`, { headers: ada.jwt })).status).toBe(204);
  });

  it('lists active keys newest first, never with a key or a hash', async () => {
    const user = await signedInUser(service.app, 'lister@example.com');
    const first = await newKey(user, { name: 'first' });
    const second = await newKey(user);
    const response = await service.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      api_keys: [
        { id: second.id, key_prefix: second.key.slice(0, 10), name: null, created_at: expect.stringMatching(ISO), last_used_at: null, expires_at: null, scopes: null, replaced_by: null },
        { id: first.id, key_prefix: first.key.slice(0, 10), name: 'first', created_at: expect.stringMatching(ISO), last_used_at: null, expires_at: null, scopes: null, replaced_by: null },
      ],
    });
    expect(response.text).not.toContain(first.key.slice(10));
    expect(response.text).not.toContain(second.key.slice(10));
  });

  it('refuses an API key on every management endpoint and on logout (403 JWT_REQUIRED) and no credential (401 MISSING_AUTH)', async () => {
    const { id, key } = await newKey(ada);
    const calls: Array<[string, string, unknown]> = [
      ['POST', '/auth/api-keys', {}],
      ['GET', '/auth/api-keys', undefined],
      ['DELETE', `/auth/api-keys/${id}`, undefined],
      // Logout is JWT only too: an API key has no session to end.
      ['POST', '/auth/logout?scope=global', undefined],
    ];
    for (const [method, path, body] of calls) {
      for (const headers of [bearer(key), header(key)]) {
        const response = await service.request(method, path, { headers, body });
        expect({ method, path, status: response.status, body: response.body }).toEqual({
          method, path, status: 403, body: { statusCode: 403, request_id: expect.any(String), code: 'JWT_REQUIRED', error: expect.any(String) },
        });
      }
      const anonymous = await service.request(method, path, { body });
      expect({ method, path, status: anonymous.status, code: anonymous.body.code }).toEqual({ method, path, status: 401, code: 'MISSING_AUTH' });
    }
    // The key was not revoked by the refused DELETE, and no key was created by the refused POST.
    expect((await service.request('GET', '/users/me', { headers: header(key) })).status).toBe(200);
  });

  it('revokes: 204, then the key gets 401, then revoking again is 404', async () => {
    const { id, key } = await newKey(ada);
    expect((await service.request('GET', '/users/me', { headers: bearer(key) })).status).toBe(200); // now cached

    const revoked = await service.request('DELETE', `/auth/api-keys/${id}`, { headers: ada.jwt });
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');
    for (const headers of [bearer(key), header(key)]) {
      const response = await service.request('GET', '/users/me', { headers });
      expect({ status: response.status, body: response.body }).toEqual({ status: 401, body: { statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN', error: expect.any(String) } });
    }
    const again = await service.request('DELETE', `/auth/api-keys/${id}`, { headers: ada.jwt });
    expect({ status: again.status, body: again.body }).toEqual({ status: 404, body: { statusCode: 404, request_id: expect.any(String), code: 'NOT_FOUND', error: expect.any(String) } });
    const list = await service.request('GET', '/auth/api-keys', { headers: ada.jwt });
    expect(list.body.api_keys.map((item: { id: string }) => item.id)).not.toContain(id);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const unknown = await service.request('DELETE', `/auth/api-keys/${randomUUID()}`, { headers: ada.jwt });
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    // The last two are refused by the router itself (too long for a parameter; a broken escape).
    for (const id of ['not-a-uuid', '123', `${randomUUID()}x`]) {
      const response = await service.request('DELETE', `/auth/api-keys/${id}`, { headers: ada.jwt });
      expect({ status: response.status, body: response.body }).toEqual({
        status: 400,
        body: {
          statusCode: 400,
          request_id: response.headers.get('x-request-id'),
          code: 'INVALID_REQUEST',
          error: 'Invalid request: id must be a UUID',
          errors: [{ field: 'id', code: 'isUuid', message: 'id must be a UUID' }],
        },
      });
    }
    for (const id of ['x'.repeat(150), '%F0%9F%99']) {
      const response = await service.request('DELETE', `/auth/api-keys/${id}`, { headers: ada.jwt });
      expect({ status: response.status, body: response.body }).toEqual({
        status: 400,
        body: { statusCode: 400, request_id: response.headers.get('x-request-id'), code: 'INVALID_REQUEST', error: expect.stringMatching(/path parameter is too long|malformed URL/) },
      });
    }
  });

  it('keeps two users apart: neither can list, use as the other, or revoke the other\'s keys', async () => {
    const adas = await newKey(ada, { name: 'ada only' });
    const bobs = await newKey(bob, { name: 'bob only' });

    const bobList = await service.request('GET', '/auth/api-keys', { headers: bob.jwt });
    expect(bobList.body.api_keys.map((item: { id: string }) => item.id)).toEqual([bobs.id]);
    const adaList = await service.request('GET', '/auth/api-keys', { headers: ada.jwt });
    expect(adaList.body.api_keys.map((item: { id: string }) => item.id)).toContain(adas.id);
    expect(adaList.body.api_keys.map((item: { id: string }) => item.id)).not.toContain(bobs.id);

    const steal = await service.request('DELETE', `/auth/api-keys/${adas.id}`, { headers: bob.jwt });
    expect({ status: steal.status, code: steal.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });

    expect((await service.request('GET', '/users/me', { headers: header(adas.key) })).body.id).toBe(ada.id);
    expect((await service.request('GET', '/users/me', { headers: header(bobs.key) })).body.id).toBe(bob.id);
  });

  it('refuses a key with a broken checksum without a single query, and an unknown well-formed key with one', async () => {
    const { key } = await newKey(ada);
    const last = key.endsWith('a') ? 'b' : 'a';
    const broken = key.slice(0, -1) + last;
    const queries = recordQueries(service.app);
    try {
      for (const headers of [bearer(broken), header(broken), header('atiru_short'), bearer(`${key}x`)]) {
        const response = await service.request('GET', '/users/me', { headers });
        expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
      }
      expect(queries.sql).toEqual([]);

      // The counter does see the lookups a well-formed key costs, so the zero above means something.
      const unknown = generateApiKey().key;
      const response = await service.request('GET', '/users/me', { headers: header(unknown) });
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
      expect(queries.sql.filter((sql) => sql.includes('api_keys'))).toHaveLength(1);
    } finally {
      queries.stop();
    }
  });

  it('reads a known key from memory: no query on api_keys once it has been seen', async () => {
    const { key } = await newKey(ada);
    expect((await service.request('GET', '/users/me', { headers: bearer(key) })).status).toBe(200);
    const queries = recordQueries(service.app);
    try {
      for (let index = 0; index < 5; index++) {
        expect((await service.request('GET', '/users/me', { headers: index % 2 ? bearer(key) : header(key) })).status).toBe(200);
      }
      expect(queries.sql.filter((sql) => /api_keys/.test(sql))).toEqual([]);
      expect(queries.sql.filter((sql) => /^\s*(insert|update|delete)/i.test(sql))).toEqual([]);
    } finally {
      queries.stop();
    }
  });

  it('answers a Bearer value that is neither a JWT nor an atiru_ key with 401 INVALID_OR_EXPIRED_TOKEN', async () => {
    for (const value of ['hello', 'eyJhbGciOiJIUzI1NiJ9.e30.x', 'not_atiru_key']) {
      const response = await service.request('GET', '/users/me', { headers: { authorization: `Bearer ${value}` } });
      expect({ value, status: response.status, body: response.body }).toEqual({
        value, status: 401, body: { statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN', error: expect.any(String) },
      });
    }
  });

  it('validates the creation body', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'x'.repeat(101) }, /name/],
      [{ name: 42 }, /name/],
      [{ name: '\u0000ci' }, /name must not contain control characters/],
      [{ name: 'ci\ndeploys' }, /name must not contain control characters/],
      [{ expires_at: 'tomorrow' }, /expires_at/],
      [{ expires_at: '2099-01-01T00:00:00' }, /expires_at/], // no time zone
      [{ expires_at: new Date(Date.now() - 1000).toISOString() }, /expires_at must be in the future/],
      [{ key: 'atiru_mine' }, /key/],
    ];
    for (const [body, message] of cases) {
      const response = await createKey(ada, body);
      expect({ body, status: response.status, code: response.body.code }).toEqual({ body, status: 400, code: 'INVALID_REQUEST' });
      expect(response.body.error).toMatch(message);
    }
  });

  it('stops accepting a key when it expires, and stops listing it', async () => {
    const user = await signedInUser(service.app, 'expiring@example.com');
    const expiresAt = new Date(Date.now() + 2500);
    const created = await createKey(user, { expires_at: expiresAt.toISOString() });
    expect(created.status).toBe(201);
    expect(created.body.expires_at).toBe(expiresAt.toISOString());
    expect((await service.request('GET', '/users/me', { headers: bearer(created.body.key) })).status).toBe(200);
    expect((await service.request('GET', '/auth/api-keys', { headers: user.jwt })).body.api_keys).toHaveLength(1);

    await sleep(expiresAt.getTime() - Date.now() + 50);
    for (const headers of [bearer(created.body.key), header(created.body.key)]) {
      const response = await service.request('GET', '/users/me', { headers });
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
    }
    expect((await service.request('GET', '/auth/api-keys', { headers: user.jwt })).body.api_keys).toEqual([]);
    // Gone from the list, gone for DELETE: an expired key is not there to revoke.
    const revoked = await service.request('DELETE', `/auth/api-keys/${created.body.id}`, { headers: user.jwt });
    expect([revoked.status, revoked.body.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('moves last_used_at after a use, without a write on the request', async () => {
    const user = await signedInUser(service.app, 'user-of-keys@example.com');
    const { id, key } = await newKey(user);
    const lastUsed = async () =>
      (await service.request('GET', '/auth/api-keys', { headers: user.jwt })).body.api_keys.find((item: { id: string }) => item.id === id).last_used_at;
    expect(await lastUsed()).toBeNull();

    const before = Date.now();
    const queries = recordQueries(service.app);
    expect((await service.request('GET', '/users/me', { headers: header(key) })).status).toBe(200);
    const writesOnRequest = queries.sql.filter((sql) => /^\s*update/i.test(sql));
    queries.stop();
    expect(writesOnRequest).toEqual([]);

    let seen: string | null = null;
    for (let waited = 0; waited < 5000 && seen === null; waited += 100) {
      await sleep(100);
      seen = await lastUsed();
    }
    expect(seen).toMatch(ISO);
    expect(new Date(seen!).getTime()).toBeGreaterThanOrEqual(before - 5);
  });

  it('caps active keys per user, also under concurrent creation, and counts only active ones', async () => {
    const user = await signedInUser(service.app, 'collector@example.com');
    const attempts = await Promise.all(Array.from({ length: MAX_KEYS + 4 }, () => createKey(user)));
    const statuses = attempts.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(MAX_KEYS).fill(201), ...Array(4).fill(400)]);
    const refused = attempts.find((response) => response.status === 400)!;
    expect(refused.body).toEqual({ statusCode: 400, request_id: expect.any(String), code: 'INVALID_REQUEST', error: expect.stringMatching(new RegExp(`${MAX_KEYS} active API keys`)) });
    expect((await service.request('GET', '/auth/api-keys', { headers: user.jwt })).body.api_keys).toHaveLength(MAX_KEYS);

    const revokeOne = attempts.find((response) => response.status === 201)!.body.id;
    expect((await service.request('DELETE', `/auth/api-keys/${revokeOne}`, { headers: user.jwt })).status).toBe(204);
    expect((await createKey(user)).status).toBe(201);
    expect((await createKey(user)).status).toBe(400);
  });

  it('documents the management operations with the JWT scheme only, and /users/me with all three', async () => {
    const document = (await service.request('GET', '/reference/openapi.json')).body;
    for (const [path, method] of [['/auth/api-keys', 'post'], ['/auth/api-keys', 'get'], ['/auth/api-keys/{id}', 'delete']]) {
      expect({ path, method, security: document.paths[path][method].security }).toEqual({ path, method, security: [{ jwt: [] }] });
    }
    expect(document.paths['/users/me'].get.security).toEqual([{ jwt: [] }, { bearer_api_key: [] }, { api_key: [] }]);
  });

  it('answers 503 SERVER_BUSY, never 401, when the database is down during a key lookup', async () => {
    const user = await signedInUser(service.app, 'outage@example.com');
    const fresh = await newKey(user); // never used: not in any cache
    const known = await newKey(user);
    expect((await service.request('GET', '/users/me', { headers: header(known.key) })).status).toBe(200);
    const listener = service.app.get(ApiKeyRevocationListener);
    expect(listener.connected).toBe(true);

    proxy.cut();
    try {
      for (let waited = 0; listener.connected && waited < 3000; waited += 20) await sleep(20);
      expect(listener.connected).toBe(false);
      // A cached key is not served while revocations cannot be heard: it too goes to the database.
      for (const headers of [header(fresh.key), bearer(fresh.key), header(known.key)]) {
        const response = await service.request('GET', '/users/me', { headers });
        expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: { statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) } });
      }
      // A broken checksum still needs no database, so it is still a plain 401.
      const broken = await service.request('GET', '/users/me', { headers: header(fresh.key.slice(0, -1) + (fresh.key.endsWith('a') ? 'b' : 'a')) });
      expect(broken.status).toBe(401);
    } finally {
      proxy.restore();
    }

    for (let waited = 0; !listener.connected && waited < 10_000; waited += 50) await sleep(50);
    expect(listener.connected).toBe(true);
    expect((await service.request('GET', '/users/me', { headers: header(fresh.key) })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: header(known.key) })).status).toBe(200);
  });

  it('never wrote a key to a log line (prefixes only)', async () => {
    expect(issued.length).toBeGreaterThan(10);
    const logs = service.logs.text;
    expect(logs).toMatch(/atiru_[0-9A-Za-z]{4}/); // keys are mentioned, by prefix
    for (const key of issued) {
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(key.slice(10));
    }
  });
});

describe('API keys created and rolled, per user (real app, real PostgreSQL, real SMTP)', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { SMTP_URL: smtp.url, RATE_LIMIT_KEY_CHANGE_USER: '3/3600' } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  it('are limited, since each mails the owner a notice: one account cannot fill the mail queue everyone\'s links wait in', async () => {
    const mallory = await signedInUser(service.app, 'mallory@example.com');
    const carol = await signedInUser(service.app, 'carol@example.com');
    const { id } = (await service.request('POST', '/auth/api-keys', { headers: mallory.jwt, body: { name: 'first' } })).body;
    const rolled = await service.request('POST', `/auth/api-keys/${id}/roll`, { headers: mallory.jwt, body: { grace_period_seconds: 0 } });
    expect(rolled.status).toBe(201);
    expect((await service.request('POST', `/auth/api-keys/${rolled.body.id}/roll`, { headers: mallory.jwt, body: { grace_period_seconds: 0 } })).status).toBe(201);

    const refused = [
      await service.request('POST', '/auth/api-keys', { headers: mallory.jwt, body: { name: 'fourth' } }),
      await service.request('POST', `/auth/api-keys/${rolled.body.id}/roll`, { headers: mallory.jwt, body: { grace_period_seconds: 0 } }),
    ];
    expect(refused.map((response) => [response.status, response.body.code])).toEqual([
      [429, 'RATE_LIMITED'],
      [429, 'RATE_LIMITED'],
    ]);
    expect(Number(refused[0].headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user's budget is their own; revoking and listing are not limited.
    expect((await service.request('POST', '/auth/api-keys', { headers: carol.jwt, body: { name: 'carol' } })).status).toBe(201);
    expect((await service.request('GET', '/auth/api-keys', { headers: mallory.jwt })).status).toBe(200);
    await waitUntil(async () => smtp.mailsTo('mallory@example.com').length >= 3, 'the three notices');
    await sleep(500);
    expect(smtp.mailsTo('mallory@example.com')).toHaveLength(3);
  });
});
