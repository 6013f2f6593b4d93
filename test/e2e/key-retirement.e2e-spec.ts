import { decode, sign } from 'jsonwebtoken';
import { KeyObject } from 'node:crypto';
import { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { AppError } from '../../src/common/errors/app-error';
import { SIGNING_KEYS_CHANNEL } from '../../src/auth/keys/signing-keys.repository';
import { SESSION_REVOKED_CHANNEL } from '../../src/auth/tokens/session-revocation.subjects';
import { retireSigningKeysNow } from '../../src/cli/keys-rotate';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, uniqueEmail } from '../support/accounts';
import { answeredFromMemory, listenerPortsThrough, PartitionedPair, startPartitionedPair } from '../support/partition';
import { TcpProxy } from '../support/tcp-proxy';
import { TestApp } from '../support/test-app';
import { eventually } from '../support/wait';

const PASSWORD = 'correct horse battery';
const CLIENT_SECRET = 'billing-secret-0123456789-abcdefghijklmnop';
const ENV = { ...GENEROUS_RATE_LIMITS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60', INTROSPECTION_CLIENTS: `billing:${CLIENT_SECRET}` };
const INVALID = { error: 'Invalid or expired token', statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN' };

const kidOf = (token: string) => (decode(token, { complete: true })!.header as { kid: string }).kid;
const claimsOf = (token: string) => decode(token) as { sub: string; sid: string; email: string };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * `npm run keys:rotate -- --retire-now` (decision 028) on two instances of one PostgreSQL, the
 * second behind a proxy that can silence one of its connections: the previous key stops
 * verifying everywhere by the time the command returns, tokens remembered included, and clients
 * carry on with the new key through their refresh tokens.
 */
describe('retiring the signing keys at once (two instances, one PostgreSQL)', () => {
  let pair: PartitionedPair;
  let proxy: TcpProxy;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    pair = await startPartitionedPair(ENV);
    ({ proxy, first, second } = pair);
  });

  afterAll(() => pair?.close());

  afterEach(() => proxy.restore());

  const me = (service: TestApp, token: string) => service.request('GET', '/users/me', { headers: bearer(token) });
  const refused = async (service: TestApp, token: string) => {
    const response = await me(service, token);
    return { status: response.status, body: response.body };
  };
  const introspect = (service: TestApp, token: string) =>
    service.request('POST', '/auth/introspect', {
      headers: { authorization: `Basic ${Buffer.from(`billing:${CLIENT_SECRET}`).toString('base64')}` },
      body: { token },
    });
  const jwksKids = async (service: TestApp) => ((await service.request('GET', '/.well-known/jwks.json')).body.keys as Array<{ kid: string }>).map((key) => key.kid).sort();

  /** A signed-in user (a real login, with its refresh token), and the key that signed their access token. */
  async function signIn(label: string) {
    const email = uniqueEmail(label);
    await createConfirmedUser(first, email, PASSWORD);
    const { session } = await login(first, email, PASSWORD);
    return { email, accessToken: session.access_token, refreshToken: session.refresh_token };
  }

  /** What someone holding the key's private part can make: a fresh token for a live session, signed by that key. */
  function forge(key: { kid: string; privateKey: KeyObject }, like: string): string {
    const { sub, sid, email } = claimsOf(like);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: first.config.tokens.issuer, aud: first.config.tokens.audience, sub, email, sid, iat: now, exp: now + 600 };
    return sign(claims, key.privateKey, { algorithm: 'ES256', keyid: key.kid });
  }

  it('refuses the previous key on both instances when the command returns, tokens in memory and in introspection included; a refresh carries on with the new key', async () => {
    const ada = await signIn('retire');
    const oldKid = kidOf(ada.accessToken);
    // Answered from memory on both, and described as active by introspection, before.
    await answeredFromMemory(first, bearer(ada.accessToken));
    await answeredFromMemory(second, bearer(ada.accessToken));
    expect((await introspect(second, ada.accessToken)).body).toMatchObject({ active: true });
    // A token no instance has seen yet, signed by the same key before the retirement.
    const unseen = (await login(first, ada.email, PASSWORD)).session.access_token;
    const dashboard = await first.request('POST', '/auth/login', { body: { email: ada.email, password: PASSWORD, refresh_cookie: true } });
    const cookie = /^atiru_refresh=([^;]+)/.exec(dashboard.headers.get('set-cookie') ?? '')![1];
    const leaked = first.app.get(SigningKeyRing).signingKey();
    expect(leaked.kid).toBe(oldKid);

    const retirement = await retireSigningKeysNow(first.config);
    expect(retirement.retired).toEqual([oldKid]);
    expect(retirement.kid).not.toBe(oldKid);

    // Asked at once, without waiting: the command returns once no instance accepts them.
    const forged = forge(leaked, ada.accessToken);
    for (const service of [first, second]) {
      for (const token of [ada.accessToken, unseen, forged, dashboard.body.session.access_token]) {
        expect(await refused(service, token)).toEqual({ status: 401, body: INVALID });
      }
      expect((await introspect(service, ada.accessToken)).body).toEqual({ active: false });
      expect((await introspect(service, forged)).body).toEqual({ active: false });
      expect(await jwksKids(service)).toEqual([retirement.kid]);
    }

    // Nobody is signed out: an API client's refresh token and the dashboard's cookie get tokens of the new key, good on both.
    const refreshed = await second.request('POST', '/auth/refresh', { body: { refresh_token: ada.refreshToken } });
    const fromCookie = await first.request('POST', '/auth/refresh', { body: {}, headers: { 'x-atiru-refresh': 'cookie', cookie: `atiru_refresh=${cookie}` } });
    for (const response of [refreshed, fromCookie]) {
      expect(response.status).toBe(200);
      const token = response.body.session.access_token;
      expect(kidOf(token)).toBe(retirement.kid);
      for (const service of [first, second]) {
        const answer = await me(service, token);
        expect({ status: answer.status, email: answer.body.email }).toEqual({ status: 200, email: ada.email });
        expect((await introspect(service, token)).body).toMatchObject({ active: true, sub: claimsOf(token).sub });
      }
    }
  }, 60_000);

  it('refuses to run with another secret than the instances use, which could not open its new key, and changes nothing', async () => {
    const ada = await signIn('wrong-secret');
    const kids = await jwksKids(first);
    const otherSecret = { ...first.config, tokens: { ...first.config.tokens, signingKeyEncryptionSecret: 'not-the-instances-secret-0123456789abcdef' } };
    await expect(retireSigningKeysNow(otherSecret)).rejects.toThrow(/SIGNING_KEY_ENCRYPTION_SECRET cannot open the current signing key/);
    for (const service of [first, second]) {
      expect(await jwksKids(service)).toEqual(kids);
      expect((await me(service, ada.accessToken)).status).toBe(200);
    }
  }, 60_000);

  it('stops publishing and signing with the old key on an instance whose signing-key listener died silently, as it hears the sessions channel', async () => {
    const ada = await signIn('deaf-keys-channel');
    const oldKid = kidOf(ada.accessToken);
    const listener = await listenerPortsThrough(first, proxy, SIGNING_KEYS_CHANNEL);
    expect(listener).toHaveLength(1);
    proxy.freezeConnections(listener);
    // Memory does not rest on that listener: with it silent, a token is still answered from memory.
    await answeredFromMemory(second, bearer(ada.accessToken));

    const retirement = await retireSigningKeysNow(first.config);
    expect(retirement.retired).toEqual([oldKid]);
    // Before any token could tell it: other services fetching the JWKS from it no longer get the old key.
    expect(await jwksKids(second)).toEqual([retirement.kid]);
    expect(second.app.get(SigningKeyRing).signingKey().kid).toBe(retirement.kid);
    expect(await refused(second, ada.accessToken)).toEqual({ status: 401, body: INVALID });
  }, 60_000);

  it('refuses them too on an instance that hears neither channel, by asking the database, whose key ring then catches up', async () => {
    const ada = await signIn('deaf-ring');
    const oldKid = kidOf(ada.accessToken);
    const listeners = [...(await listenerPortsThrough(first, proxy, SIGNING_KEYS_CHANNEL)), ...(await listenerPortsThrough(first, proxy, SESSION_REVOKED_CHANNEL))];
    expect(listeners).toHaveLength(2);
    await answeredFromMemory(second, bearer(ada.accessToken));
    proxy.freezeConnections(listeners);
    const ring = second.app.get(SigningKeyRing);
    const leaked = ring.signingKey();

    const retirement = await retireSigningKeysNow(first.config);
    expect(retirement.retired).toEqual([oldKid]);

    // Its key ring has heard nothing and still verifies with the old key: what refuses the token it
    // remembers, and a forgery it never saw, is the database's answer to the token's first check
    // (its memory lapsed with the sessions channel's proof). 401, not 503: its database answers.
    expect(ring.verificationKey(oldKid)).toBeDefined();
    expect(await jwksKids(second)).toContain(oldKid);
    expect(await refused(second, ada.accessToken)).toEqual({ status: 401, body: INVALID });
    expect(await refused(second, forge(leaked, ada.accessToken))).toEqual({ status: 401, body: INVALID });
    expect((await introspect(second, ada.accessToken)).body).toEqual({ active: false });

    // The refusal told its ring, which reads the keys again: it publishes the new key only, and
    // signs with it once it has opened it.
    expect(await eventually(() => jwksKids(second), (kids) => !kids.includes(oldKid), 2_000)).toEqual([retirement.kid]);
    expect(await eventually(async () => signingKid(ring), (kid) => kid === retirement.kid, 2_000)).toBe(retirement.kid);
    const refreshed = await second.request('POST', '/auth/refresh', { body: { refresh_token: ada.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(kidOf(refreshed.body.session.access_token)).toBe(retirement.kid);
    for (const service of [first, second]) expect((await me(service, refreshed.body.session.access_token)).status).toBe(200);
  }, 60_000);
});

/**
 * The kid the ring signs with; undefined while it signs with none: between reading the keys and
 * opening the new one, an instance whose key retired answers 503 rather than sign with it.
 */
function signingKid(ring: SigningKeyRing): string | undefined {
  try {
    return ring.signingKey().kid;
  } catch (error) {
    if (error instanceof AppError && error.code === 'SERVER_BUSY') return undefined;
    throw error;
  }
}
