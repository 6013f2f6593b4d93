import { createHash } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { generateApiKey } from '../../src/api-keys/api-key-format';
import { recordQueries } from '../support/query-recorder';
import { signedInUser, SignedInUser } from '../support/signed-in-user';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

const BILLING_SECRET = 'billing-secret-0123456789-abcdefghijklmnop';
const REPORTS_SECRET = 'reports-secret-0123456789-abcdefghijklmnop';
const CLIENTS = `billing:${BILLING_SECRET},reports:sha256:${createHash('sha256').update(REPORTS_SECRET).digest('hex')}`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const BILLING = { authorization: basic('billing', BILLING_SECRET) };

/** The claims of a JWT, read without verifying it (the test's own token). */
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
const seconds = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

describe('token introspection, RFC 7662 (two real apps, one PostgreSQL)', () => {
  let database: TestDatabase;
  let service: TestApp;
  let other: TestApp;
  let ada: SignedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { INTROSPECTION_CLIENTS: CLIENTS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' };
    service = await startTestApp({ database, env });
    other = await startTestApp({ database, env });
    ada = await signedInUser(service.app, 'ada@example.com');
  });

  afterAll(async () => {
    await other?.close();
    await service?.close();
    await database?.drop();
  });

  /** Introspects `token` as a form, the way RFC 7662 sends it. */
  function introspect(token: string, headers: Record<string, string> = BILLING, instance: TestApp = service) {
    return instance.request('POST', '/auth/introspect', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      raw: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
  }

  it('describes a live access token: sub, scope (every scope: JWTs are not limited), its exp and iat, token_type', async () => {
    const jwt = ada.jwt.authorization.slice('Bearer '.length);
    const claims = claimsOf(jwt);
    const response = await introspect(jwt);
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: { active: true, sub: ada.id, scope: 'read write', exp: claims.exp, iat: claims.iat, token_type: 'access_token' },
    });
    expect(response.headers.get('cache-control')).toContain('no-store');
  });

  it("describes a live API key, as a form and as JSON: its user, its scopes, its expiry and its creation", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: { scopes: ['read'], expires_at: expiresAt } });
    const expected = { active: true, sub: ada.id, scope: 'read', exp: seconds(expiresAt), iat: seconds(created.body.created_at), token_type: 'api_key' };
    expect((await introspect(created.body.key)).body).toEqual(expected);
    const json = await service.request('POST', '/auth/introspect', { headers: BILLING, body: { token: created.body.key } });
    expect({ status: json.status, body: json.body }).toEqual({ status: 200, body: expected });

    const unscoped = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: {} });
    expect((await introspect(unscoped.body.key, { authorization: basic('reports', REPORTS_SECRET) })).body).toEqual({
      active: true, sub: ada.id, scope: 'read write', iat: seconds(unscoped.body.created_at), token_type: 'api_key',
    });
  });

  it('answers {"active": false} for a revoked key (revoked on another instance), an expired JWT, a rolled key past its grace, and garbage', async () => {
    const revoked = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: {} });
    expect((await introspect(revoked.body.key)).body.active).toBe(true);
    expect((await other.request('DELETE', `/auth/api-keys/${revoked.body.id}`, { headers: ada.jwt })).status).toBe(204);

    const { kid, privateKey } = service.app.get(SigningKeyRing).signingKey();
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...claimsOf(ada.jwt.authorization.slice(7)), iat: now - 120, exp: now - 60 };
    const expired = sign(claims, privateKey, { algorithm: 'ES256', keyid: kid });

    const rolling = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: {} });
    expect((await introspect(rolling.body.key)).body.active).toBe(true);
    const rolled = await other.request('POST', `/auth/api-keys/${rolling.body.id}/roll`, { headers: ada.jwt, body: { grace_period_seconds: 0 } });
    expect(rolled.status).toBe(201);

    const jwt = ada.jwt.authorization.slice(7);
    // Each changed character is made to differ from the one it replaces: a fixed
    // replacement is, now and then, what was there.
    const [header, payload, signature] = jwt.split('.');
    const otherThan = (character: string) => (character === 'A' ? 'B' : 'A');
    const badSignature = `${header}.${payload}.${otherThan(signature[0])}${signature.slice(1)}`;
    const badKey = `${revoked.body.key.slice(0, -1)}${otherThan(revoked.body.key.slice(-1))}`;
    const garbage = ['garbage', generateApiKey().key, badKey, badSignature, jwt.replace('.', '. '), 'é'];
    for (const token of [revoked.body.key, expired, rolling.body.key, ...garbage]) {
      const response = await introspect(token);
      expect({ token, status: response.status, body: response.body }).toEqual({ token, status: 200, body: { active: false } });
    }
    expect((await introspect(rolled.body.key)).body.active).toBe(true);
  });

  it('reads no database for a credential the guard or introspection has seen before', async () => {
    const key = (await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: {} })).body.key;
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: ada.jwt })).status).toBe(200);
    const queries = recordQueries(service.app);
    try {
      expect((await introspect(key)).body.active).toBe(true);
      expect((await introspect(ada.jwt.authorization.slice(7))).body.active).toBe(true);
      expect(queries.sql).toEqual([]);
      // The recorder does see what an unseen credential costs, so the empty list above means something.
      expect((await introspect(generateApiKey().key)).body.active).toBe(false);
      expect(queries.sql.filter((sql) => sql.includes('api_keys'))).toHaveLength(1);
    } finally {
      queries.stop();
    }
  });

  it('is closed to anyone without the credentials of a configured client: 401 INVALID_CLIENT with WWW-Authenticate: Basic', async () => {
    const key = (await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: {} })).body.key;
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: basic('billing', `${BILLING_SECRET}x`) },
      { authorization: basic('billing', REPORTS_SECRET) },
      { authorization: basic('nobody', BILLING_SECRET) },
      { authorization: basic('reports', createHash('sha256').update(REPORTS_SECRET).digest('hex')) },
      { authorization: `Basic ${BILLING_SECRET}` },
      ada.jwt,
      { authorization: `Bearer ${key}` },
      { 'x-api-key': key },
    ];
    for (const headers of wrong) {
      const response = await introspect(key, headers);
      expect({ headers, status: response.status, body: response.body }).toEqual({
        headers,
        status: 401,
        body: { statusCode: 401, code: 'INVALID_CLIENT', error: expect.any(String), request_id: response.headers.get('x-request-id') },
      });
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="atiru-introspection", charset="UTF-8"');
    }
    expect(JSON.stringify(service.logs.entries())).not.toContain(BILLING_SECRET);
  });

  it('needs a token, and reads forms on this operation only', async () => {
    for (const raw of ['', 'token=', 'token_type_hint=api_key', 'token=a&token=b']) {
      const response = await service.request('POST', '/auth/introspect', { headers: { 'content-type': 'application/x-www-form-urlencoded', ...BILLING }, raw });
      expect({ raw, status: response.status, code: response.body.code }).toEqual({ raw, status: 400, code: 'INVALID_REQUEST' });
    }
    // Held to the same rules as every other body, though not by the global pipe: closed, typed, one 400 shape.
    for (const [body, field, code] of [[{ token: 'x', client_id: 'billing' }, 'client_id', 'unknownField'], [{ token: 7 }, 'token', undefined], [{}, 'token', undefined]] as const) {
      const response = await service.request('POST', '/auth/introspect', { headers: BILLING, body });
      expect({ status: response.status, code: response.body.code, errors: response.body.errors }).toEqual({
        status: 400, code: 'INVALID_REQUEST', errors: [{ field, code: code ?? expect.any(String), message: expect.any(String) }],
      });
    }
    const notAnObject = await service.request('POST', '/auth/introspect', { headers: BILLING, body: ['token'] });
    expect(notAnObject.body.error).toBe('Invalid request: the body must be a JSON object');
    const form = await service.request('POST', '/auth/login', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, raw: 'email=ada%40example.com&password=x' });
    expect({ status: form.status, code: form.body.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('reads the form as RFC 7662 clients encode it, and answers a broken, oversized or other body in the contract shape', async () => {
    const key = (await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: {} })).body.key;
    const send = (raw: string, contentType = 'application/x-www-form-urlencoded') =>
      service.request('POST', '/auth/introspect', { headers: { 'content-type': contentType, ...BILLING }, raw });
    // Every character percent-encoded, and a hint with `+` for a space, still name the same key.
    const encoded = [...key].map((char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    expect((await send(`token=${encoded}&token_type_hint=api+key`)).body).toEqual(expect.objectContaining({ active: true, token_type: 'api_key' }));
    // A `+` is a space, and a token with a space is no credential of ours.
    expect((await send(`token=${key.slice(0, 10)}+${key.slice(10)}`)).body).toEqual({ active: false });
    for (const raw of ['token=%zz', `token=${key}%`, 'token=%C3', `token=${key}&token=${key}`]) {
      const response = await send(raw);
      expect({ raw, status: response.status, code: response.body.code }).toEqual({ raw, status: 400, code: 'INVALID_REQUEST' });
    }
    const oversized = await send(`token=${key}&token_type_hint=${'h'.repeat(16_384)}`);
    expect({ status: oversized.status, code: oversized.body.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const text = await send(`token=${key}`, 'text/plain');
    expect({ status: text.status, code: text.body.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});
