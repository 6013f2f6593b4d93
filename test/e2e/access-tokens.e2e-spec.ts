import { createPublicKey, createHmac, generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';
import { decode, sign, verify } from 'jsonwebtoken';
import { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { jwkThumbprint } from '../../src/auth/keys/signing-key-material';
import { KEY_RELOAD_INTERVAL_MS, NEW_KEY_SIGNS_AFTER_MS, SigningKeysService } from '../../src/auth/keys/signing-keys.service';
import { AccessTokenService } from '../../src/auth/tokens/access-token.service';
import { describeRotation, retireSigningKeysNow, rotateSigningKeys } from '../../src/cli/keys-rotate';
import { DEVELOPMENT_SECRET } from '../../src/config/app-config';
import { runMigrationsAlone } from '../../src/database/migrate';
import { sql } from '../support/accounts';
import { TcpProxy } from '../support/tcp-proxy';
import { insertUserWithSession, UserWithSession } from '../support/signed-in-user';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { eventually } from '../support/wait';

const INVALID = { error: 'Invalid or expired token', statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN' };
const MISSING = {
  error: 'Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>',
  statusCode: 401,
  request_id: expect.any(String),
  code: 'MISSING_AUTH',
};

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function kidOf(token: string): string {
  return (decode(token, { complete: true })!.header as { kid: string }).kid;
}

function me(service: TestApp, token: string) {
  return service.request('GET', '/users/me', { headers: { authorization: `Bearer ${token}` } });
}

async function jwksKids(service: TestApp): Promise<string[]> {
  const response = await service.request('GET', '/.well-known/jwks.json');
  return response.body.keys.map((key: { kid: string }) => key.kid).sort();
}

describe('access tokens, signing keys and the combined guard (real app, real PostgreSQL)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let first: TestApp;
  let second: TestApp;
  let user: UserWithSession;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    first = await startTestApp({ database, databaseUrl: proxy.wrap(database.url) });
    second = await startTestApp({ database });
    user = await insertUserWithSession(first.app);
  });

  afterAll(async () => {
    proxy?.restore();
    await first?.close();
    await second?.close();
    await proxy?.stop();
    await database?.drop();
  });

  const issue = (service = first, who: UserWithSession = user, sessionId = who.sessionId) =>
    service.app.get(AccessTokenService).issue(who, sessionId);

  /**
   * Ages every signing key by NEW_KEY_SIGNS_AFTER_MS, as if that much time had passed since the
   * rotation, and has both instances re-read them, as their periodic reload would.
   */
  async function waitOutTheNewKeysDelay(): Promise<void> {
    const interval = `make_interval(secs => ${NEW_KEY_SIGNS_AFTER_MS / 1000})`;
    await sql(first, `UPDATE signing_keys SET created_at = created_at - ${interval}, retire_at = retire_at - ${interval}`);
    await Promise.all([first, second].map((service) => service.app.get(SigningKeyRing).reload()));
  }

  /** Signs `claims` with the instance's current key, under any header. */
  function signWithCurrentKey(claims: object, header: object = {}): string {
    const { kid, privateKey } = first.app.get(SigningKeyRing).signingKey();
    return sign(claims, privateKey, { algorithm: 'ES256', keyid: kid, header: { alg: 'ES256', ...header } as any });
  }

  function validClaims(overrides: object = {}) {
    const now = Math.floor(Date.now() / 1000);
    return { iss: first.config.tokens.issuer, aud: first.config.tokens.audience, sub: user.id, email: user.email, sid: user.sessionId, iat: now, exp: now + 600, ...overrides };
  }

  describe('GET /users/me', () => {
    it('answers the caller for a fresh access token, whole body', async () => {
      const token = issue();
      const response = await me(first, token.access_token);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: user.id,
        email: user.email,
        created_at: user.createdAt.toISOString(),
        updated_at: user.updatedAt.toISOString(),
        email_confirmed_at: null,
      });
      expect(response.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('shows when the email was confirmed', async () => {
      const confirmed = await insertUserWithSession(first.app);
      await sql(first, `UPDATE users SET email_confirmed_at = '2024-01-15T12:05:00.123Z' WHERE id = ?`, [confirmed.id]);
      const response = await me(first, (issue(first, confirmed)).access_token);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: confirmed.id,
        email: confirmed.email,
        created_at: confirmed.createdAt.toISOString(),
        updated_at: confirmed.updatedAt.toISOString(),
        email_confirmed_at: '2024-01-15T12:05:00.123Z',
      });
    });

    it('answers 401 MISSING_AUTH without a credential', async () => {
      const response = await first.request('GET', '/users/me');
      expect(response.status).toBe(401);
      expect(response.body).toEqual(MISSING);
    });

    it.each([['Basic x'], ['Bearer'], ['Bearer '], ['Bearer two words'], ['Token abc']])(
      'answers 401 MISSING_AUTH for the malformed header "Authorization: %s"',
      async (authorization) => {
        const response = await first.request('GET', '/users/me', { headers: { authorization } });
        expect(response.status).toBe(401);
        expect(response.body).toEqual(MISSING);
      },
    );

    it('takes the Bearer scheme in any case for a JWT, as for an API key (RFC 9110 §11.1)', async () => {
      for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
        // A token never seen runs the JWT strategy; the same token again is decided from memory.
        const token = issue();
        for (const sight of ['first', 'again']) {
          const response = await first.request('GET', '/users/me', { headers: { authorization: `${scheme} ${token.access_token}` } });
          expect({ scheme, sight, status: response.status, id: response.body.id }).toEqual({ scheme, sight, status: 200, id: user.id });
        }
      }
    });

    it('answers 401 INVALID_OR_EXPIRED_TOKEN for a well-formed credential that is no token', async () => {
      const response = await me(first, 'not-a-jwt');
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID);
    });

    it('does not take a JWT from X-Api-Key', async () => {
      const token = issue();
      const response = await first.request('GET', '/users/me', { headers: { 'x-api-key': token.access_token } });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID);
    });

    it('answers 401 for the token of a deleted user', async () => {
      const doomed = await insertUserWithSession(first.app);
      const token = issue(first, doomed);
      expect((await me(first, token.access_token)).status).toBe(200);
      await sql(first, 'DELETE FROM users WHERE id = ?', [doomed.id]);
      // The cached user is dropped when the deletion's NOTIFY arrives (milliseconds).
      const response = await eventually(() => me(first, token.access_token), (answer) => answer.status === 401, 2000);
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID);
    });

    it('logs a denied request at warn, without the token', async () => {
      const token = sign(validClaims({ exp: Math.floor(Date.now() / 1000) - 10 }), first.app.get(SigningKeyRing).signingKey().privateKey, {
        algorithm: 'ES256',
        keyid: first.app.get(SigningKeyRing).signingKey().kid,
      });
      await first.request('GET', '/users/me', { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'denied-1' } });
      // Nest's Logger is process-wide: the app started last captures the lines of both.
      const entry = [...first.logs.entries(), ...second.logs.entries()].find((line) => line.request_id === 'denied-1' && line.context === 'CombinedAuthGuard');
      expect(entry).toMatchObject({
        level: 40,
        msg: 'denied GET /users/me: INVALID_OR_EXPIRED_TOKEN',
        ip: '127.0.0.1',
        code: 'INVALID_OR_EXPIRED_TOKEN',
        path: '/users/me',
        reason: expect.stringContaining('jwt expired'),
      });
      for (const logs of [first.logs.text, second.logs.text]) {
        expect(logs).not.toContain(token);
        expect(logs).not.toContain(token.split('.')[2]);
      }
    });

    it('logs nothing of a presented value that is not a valid key, not even its start', async () => {
      const secrets = ['ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', `atiru_${'Z'.repeat(38)}`, 'atiru_tooshort'];
      for (const [index, secret] of secrets.entries()) {
        for (const headers of [{ 'x-api-key': secret }, { authorization: `Bearer ${secret}` }] as Record<string, string>[]) {
          const response = await first.request('GET', '/users/me', { headers: { ...headers, 'x-request-id': `no-key-${index}` } });
          expect(response.status).toBe(401);
        }
      }
      const denials = [...first.logs.entries(), ...second.logs.entries()].filter((line) => line.context === 'CombinedAuthGuard' && /^no-key-/.test(String(line.request_id)));
      expect(denials.length).toBe(secrets.length * 2);
      for (const logs of [first.logs.text, second.logs.text]) {
        for (const secret of secrets) expect(logs).not.toContain(secret.slice(0, 10));
      }
    });
  });

  describe('access tokens', () => {
    it('are ES256 JWTs with kid, iss, aud, sub, email, sid, iat and exp', async () => {
      const sessionId = randomUUID();
      const before = Math.floor(Date.now() / 1000);
      const token = issue(first, user, sessionId);
      const decoded = decode(token.access_token, { complete: true })!;
      expect(decoded.header).toEqual({ alg: 'ES256', typ: 'JWT', kid: first.app.get(SigningKeyRing).signingKey().kid });
      expect(decoded.payload).toEqual({
        iss: 'http://127.0.0.1:3000',
        aud: 'atiru',
        sub: user.id,
        email: user.email,
        sid: sessionId,
        iat: expect.any(Number),
        exp: expect.any(Number),
      });
      const { iat, exp } = decoded.payload as { iat: number; exp: number };
      expect(iat).toBeGreaterThanOrEqual(before);
      expect(exp - iat).toBe(3600);
      expect(token).toEqual({ access_token: expect.any(String), expires_in: 3600, expires_at: exp });
    });

    it('verify with the published JWKS alone', async () => {
      const token = issue();
      const response = await first.request('GET', '/.well-known/jwks.json');
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=60');
      expect(response.body).toEqual({
        keys: [{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: kidOf(token.access_token), alg: 'ES256', use: 'sig' }],
      });
      const jwk = response.body.keys[0];
      const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
      expect(jwkThumbprint(publicKey)).toBe(jwk.kid);
      const claims = verify(token.access_token, publicKey, { algorithms: ['ES256'], issuer: 'http://127.0.0.1:3000', audience: 'atiru' });
      expect(claims).toMatchObject({ sub: user.id, email: user.email });
    });

    it('are verified by a second instance on the same database, which shares the key', async () => {
      expect(await jwksKids(second)).toEqual(await jwksKids(first));
      const token = issue(first);
      const response = await me(second, token.access_token);
      expect(response.status).toBe(200);
      expect(response.body.id).toBe(user.id);
      expect((await me(first, (issue(second)).access_token)).status).toBe(200);
    });
  });

  describe('forged tokens answer 401 INVALID_OR_EXPIRED_TOKEN', () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const currentKid = () => first.app.get(SigningKeyRing).signingKey().kid;
    const publicPem = () => createPublicKey(first.app.get(SigningKeyRing).signingKey().privateKey).export({ type: 'spki', format: 'pem' }).toString();

    const forgers: Array<[string, () => Promise<string> | string]> = [
      ['alg none', () => `${b64({ alg: 'none', typ: 'JWT', kid: currentKid() })}.${b64(validClaims())}.`],
      [
        'HS256 signed with the public key PEM',
        () => {
          const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: currentKid() })}.${b64(validClaims())}`;
          return `${signingInput}.${createHmac('sha256', publicPem()).update(signingInput).digest('base64url')}`;
        },
      ],
      [
        'a tampered payload under a signature this instance has verified and remembers',
        async () => {
          const original = issue().access_token;
          expect((await me(first, original)).status).toBe(200);
          const [header, , signature] = original.split('.');
          return `${header}.${b64(validClaims({ email: 'admin@example.com' }))}.${signature}`;
        },
      ],
      ['an expired token', () => signWithCurrentKey(validClaims({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }))],
      ['a wrong issuer', () => signWithCurrentKey(validClaims({ iss: 'https://evil.example' }))],
      ['a wrong audience', () => signWithCurrentKey(validClaims({ aud: 'someone-else' }))],
      ['an unknown kid', () => signWithCurrentKey(validClaims(), { kid: 'no-such-key' })],
      ['no kid at all', () => sign(validClaims(), first.app.get(SigningKeyRing).signingKey().privateKey, { algorithm: 'ES256' })],
      ['a stranger key under its own kid', () => sign(validClaims(), stranger.privateKey, { algorithm: 'ES256', keyid: jwkThumbprint(stranger.publicKey) })],
      ['a stranger key claiming our kid', () => sign(validClaims(), stranger.privateKey, { algorithm: 'ES256', keyid: currentKid() })],
      ['a subject that is no user id', () => signWithCurrentKey(validClaims({ sub: "1' OR '1'='1" }))],
    ];

    it.each(forgers)('%s', async (_name, forge) => {
      const token = await forge();
      const response = await me(first, token);
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID);
    });

    it('while the same claims, honestly signed, pass', async () => {
      expect((await me(first, signWithCurrentKey(validClaims()))).status).toBe(200);
    });
  });

  describe('key rotation', () => {
    it('publishes the new key at once on both instances, signs with it once verifiers can know it, and keeps tokens signed before valid', async () => {
      const before = issue(first);
      const oldKid = kidOf(before.access_token);

      const rotatedAt = Date.now();
      const { kid: newKid, signsFrom, previousRetireAt } = await first.app.get(SigningKeysService).rotate();
      expect(newKid).not.toBe(oldKid);

      // Both instances hear the NOTIFY and publish the key; neither signs with it yet, even once
      // done reading the keys, nor restarts.
      for (const service of [first, second]) {
        expect(await eventually(() => jwksKids(service), (kids) => kids.includes(newKid))).toEqual([oldKid, newKid].sort());
        await service.app.get(SigningKeyRing).reload();
        expect(kidOf(issue(service).access_token)).toBe(oldKid);
      }
      expect(Math.abs(signsFrom.getTime() - (rotatedAt + NEW_KEY_SIGNS_AFTER_MS))).toBeLessThan(5_000);
      // The previous key signs until then; its last tokens must verify until they expire.
      expect(previousRetireAt!.getTime()).toBe(signsFrom.getTime() + KEY_RELOAD_INTERVAL_MS + first.config.tokens.accessTtlSeconds * 1000);

      await waitOutTheNewKeysDelay();
      for (const service of [first, second]) {
        expect(kidOf(issue(service).access_token)).toBe(newKid);
        expect(await jwksKids(service)).toEqual([oldKid, newKid].sort());
      }
      expect((await me(first, before.access_token)).status).toBe(200);
      expect((await me(second, before.access_token)).status).toBe(200);
      const after = issue(first);
      expect((await me(second, after.access_token)).status).toBe(200);

      const rows = await sql(first, 'SELECT kid, retire_at FROM signing_keys ORDER BY created_at');
      expect(rows).toEqual([
        { kid: oldKid, retire_at: expect.any(String) },
        { kid: newKid, retire_at: null },
      ]);
    });

    it('runs from the keys:rotate command against the same database, and says when the new key signs', async () => {
      const before = issue(second);
      const rotation = await rotateSigningKeys({ ...first.config, database: { ...first.config.database, url: database.url } });
      const { kid, signsFrom, previousRetireAt } = rotation;
      for (const service of [first, second]) {
        expect(await eventually(() => jwksKids(service), (kids) => kids.includes(kid))).toContain(kid);
        await service.app.get(SigningKeyRing).reload();
        expect(kidOf(issue(service).access_token)).toBe(kidOf(before.access_token));
      }
      expect(describeRotation(rotation)).toBe(
        `new signing key ${kid} is published now and signs access tokens from ${signsFrom.toISOString()}\n` +
          `the previous key signs until then and verifies the tokens it signed until ${previousRetireAt!.toISOString()}, then retires\n`,
      );
      await waitOutTheNewKeysDelay();
      for (const service of [first, second]) expect(kidOf(issue(service).access_token)).toBe(kid);
      expect((await me(first, before.access_token)).status).toBe(200);
    });

    it('stops using and publishing a key once it retires', async () => {
      const ring = first.app.get(SigningKeyRing);
      const old = issue(first);
      await first.app.get(SigningKeysService).rotate();
      await waitOutTheNewKeysDelay();
      expect(ring.signingKey().kid).not.toBe(kidOf(old.access_token));
      expect((await me(first, old.access_token)).status).toBe(200);

      await sql(first, `UPDATE signing_keys SET retire_at = now() - interval '1 second' WHERE kid = ?`, [kidOf(old.access_token)]);
      await ring.reload();
      expect(await jwksKids(first)).not.toContain(kidOf(old.access_token));
      const response = await me(first, old.access_token);
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID);
    });
  });

  describe('a database outage', () => {
    it('answers 503 SERVER_BUSY while the user cannot be loaded, not 401, and recovers', async () => {
      // A user no request has loaded yet: a cached one would still be served during the outage.
      const token = issue(first, await insertUserWithSession(first.app));
      proxy.cut();
      try {
        const response = await me(first, token.access_token);
        expect(response.status).toBe(503);
        expect(response.body).toEqual({ statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) });
      } finally {
        proxy.restore();
      }
      const recovered = await eventually(() => me(first, token.access_token), (response) => response.status === 200, 15_000);
      expect(recovered.status).toBe(200);
    });
  });
});

describe('signing keys at start', () => {
  it('are created once when two instances start together on an empty database', async () => {
    const database = await createTestDatabase();
    const [a, b] = await Promise.all([startTestApp({ database }), startTestApp({ database })]);
    try {
      const rows = await sql(a, 'SELECT kid FROM signing_keys');
      expect(rows).toHaveLength(1);
      expect(await jwksKids(a)).toEqual([rows[0].kid]);
      expect(await jwksKids(b)).toEqual([rows[0].kid]);
      const user = await insertUserWithSession(a.app);
      const token = b.app.get(AccessTokenService).issue(user, user.sessionId);
      expect((await me(a, token.access_token)).status).toBe(200);

      // The race itself, past the migration lock that serialised the two starts: ten creators, one key.
      await sql(a, 'DELETE FROM signing_keys');
      const services = [a, b].map((service) => service.app.get(SigningKeysService));
      await Promise.all(Array.from({ length: 10 }, (_, index) => services[index % 2].ensureCurrentKey()));
      expect(await sql(a, 'SELECT kid FROM signing_keys WHERE retire_at IS NULL')).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });

  it('come from keys:rotate on a database that has none: the command says its key signs at once, as it does', async () => {
    const database = await createTestDatabase();
    // The configuration test apps run with, pointed at the empty database.
    const probe = await startTestApp();
    const secret = { SIGNING_KEY_ENCRYPTION_SECRET: 'the-fleet-secret-0123456789-abcdefghijklmnop' };
    const config = {
      ...probe.config,
      database: { ...probe.config.database, url: database.url },
      tokens: { ...probe.config.tokens, signingKeyEncryptionSecret: secret.SIGNING_KEY_ENCRYPTION_SECRET },
    };
    await probe.close();
    try {
      // The command changes rows, never the schema: `npm run migrate` first.
      await expect(rotateSigningKeys(config)).rejects.toThrow(/schema is behind this release .*run npm run migrate/);
      await runMigrationsAlone(database.url);
      // With no key to hold it against, the secret must at least be no placeholder (a shell without the fleet's secret).
      const placeholder = { ...config, tokens: { ...config.tokens, signingKeyEncryptionSecret: DEVELOPMENT_SECRET } };
      await expect(rotateSigningKeys(placeholder)).rejects.toThrow(/placeholder/);
      await expect(retireSigningKeysNow(placeholder)).rejects.toThrow(/placeholder/);
      const rotatedAt = Date.now();
      const rotation = await rotateSigningKeys(config);
      expect(rotation.previousRetireAt).toBeNull();
      // Not NEW_KEY_SIGNS_AFTER_MS later: the only key there is signs at once.
      expect(Math.abs(rotation.signsFrom.getTime() - rotatedAt)).toBeLessThan(5_000);
      const service = await startTestApp({ database, env: secret });
      try {
        const user = await insertUserWithSession(service.app);
        expect(kidOf(service.app.get(AccessTokenService).issue(user, user.sessionId).access_token)).toBe(rotation.kid);
      } finally {
        await service.close();
      }
    } finally {
      await database.drop();
    }
  });

  it('come from keys:rotate only under the secret the instances hold, unless --new-secret says otherwise, and never under a placeholder as a new secret; refused, it adds nothing', async () => {
    const database = await createTestDatabase();
    try {
      const service = await startTestApp({ database });
      const config = { ...service.config, database: { ...service.config.database, url: database.url } };
      await service.close();
      const withSecret = (secret: string) => ({ ...config, tokens: { ...config.tokens, signingKeyEncryptionSecret: secret } });
      const keys = () => database.query('SELECT kid FROM signing_keys ORDER BY created_at');
      const before = await keys();
      expect(before).toHaveLength(1);

      // A shell without the fleet's secret: the instances could not open the key it would add.
      const other = withSecret('a-secret-the-instances-do-not-hold-0123456789');
      await expect(rotateSigningKeys(other)).rejects.toThrow(/SIGNING_KEY_ENCRYPTION_SECRET cannot open the current signing key .*--new-secret/);
      await expect(rotateSigningKeys(withSecret(DEVELOPMENT_SECRET), { newSecret: true })).rejects.toThrow(/placeholder/);
      await expect(rotateSigningKeys(withSecret('short'), { newSecret: true })).rejects.toThrow(/placeholder/);
      expect(await keys()).toEqual(before);

      // The runbook's change of secret: asked for, the new secret seals the new key.
      const changed = await rotateSigningKeys(other, { newSecret: true });
      expect(await keys()).toEqual([...before, { kid: changed.kid }]);
      // Under the same secret as the instances', as ever.
      const same = await rotateSigningKeys(other);
      expect(await keys()).toEqual([...before, { kid: changed.kid }, { kid: same.kid }]);
    } finally {
      await database.drop();
    }
  });

  it('stop the start, naming SIGNING_KEY_ENCRYPTION_SECRET, when the secret cannot decrypt them', async () => {
    const database = await createTestDatabase();
    try {
      const a = await startTestApp({ database });
      await a.close();
      await expect(startTestApp({ database, env: { SIGNING_KEY_ENCRYPTION_SECRET: 'another-secret-entirely-0123456789' } })).rejects.toThrow(
        /SIGNING_KEY_ENCRYPTION_SECRET/,
      );
    } finally {
      await database.drop();
    }
  });

  it('come from SIGNING_KEY_PEM when it is set: the first key signs, every key verifies and is published', async () => {
    const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
    const current = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const previous = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const service = await startTestApp({ env: { SIGNING_KEY_PEM: `${pem(current.privateKey)}\n${pem(previous.privateKey)}` } });
    try {
      const user = await insertUserWithSession(service.app);
      const token = service.app.get(AccessTokenService).issue(user, user.sessionId);
      expect(kidOf(token.access_token)).toBe(jwkThumbprint(current.publicKey));
      expect(await jwksKids(service)).toEqual([jwkThumbprint(current.publicKey), jwkThumbprint(previous.publicKey)].sort());
      expect((await me(service, token.access_token)).status).toBe(200);
      const now = Math.floor(Date.now() / 1000);
      const byPrevious = sign({ iss: service.config.tokens.issuer, aud: 'atiru', sub: user.id, email: user.email, sid: user.sessionId, iat: now, exp: now + 60 }, previous.privateKey, {
        algorithm: 'ES256',
        keyid: jwkThumbprint(previous.publicKey),
      });
      expect((await me(service, byPrevious)).status).toBe(200);
      expect(await sql(service, 'SELECT kid FROM signing_keys')).toEqual([]);
    } finally {
      await service.close();
    }
  });

  it('refuse a SIGNING_KEY_PEM that is not a P-256 key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const database = await createTestDatabase();
    try {
      await expect(startTestApp({ database, env: { SIGNING_KEY_PEM: rsa } })).rejects.toThrow(/SIGNING_KEY_PEM key #1 must be an EC P-256 private key/);
    } finally {
      await database.drop();
    }
  });
});
