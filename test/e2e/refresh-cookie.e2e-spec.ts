import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, sql, uniqueEmail } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';
import { sleep } from '../support/wait';

const PASSWORD = 'correct horse battery';
const GRACE_SECONDS = 1;
const REFRESH_TTL_SECONDS = 30 * 86_400;
/** PUBLIC_URL of the test app is http://127.0.0.1:…, where a browser keeps no Secure cookie: none is set. */
const ATTRIBUTES = 'Path=/auth/refresh; HttpOnly; SameSite=Strict';
/** A `Set-Cookie` that stores a token for `maxAge` seconds (a pattern): the token's own life. */
const setCookie = (maxAge: string) => new RegExp(`^atiru_refresh=([A-Za-z0-9_-]{43}); Max-Age=(?:${maxAge}); ${ATTRIBUTES}$`);
const CLEARED = `atiru_refresh=; Max-Age=0; ${ATTRIBUTES}`;
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** The session answer of the cookie mode: the usual body, but no refresh token in it. */
const cookieSessionBody = (id: string, email: string) => ({
  user: { id, email, created_at: ISO, updated_at: ISO },
  session: { access_token: expect.any(String), expires_in: 3600, expires_at: expect.any(Number), token_type: 'bearer' },
});

/**
 * The built-in dashboard's way to hold a refresh token (decision 012): an HttpOnly cookie that only
 * POST /auth/refresh receives, set when the login asks for it. API clients keep the JSON tokens.
 */
describe('the refresh token in a cookie (real app, real PostgreSQL)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60', REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) } });
  });

  afterAll(async () => {
    await service?.close();
  });

  async function account(): Promise<{ email: string; id: string }> {
    const email = uniqueEmail('cookie');
    return { email, id: await createConfirmedUser(service, email, PASSWORD) };
  }

  /**
   * The token of a `Set-Cookie` that stores one; fails the test unless its attributes are exactly
   * the agreed ones, a new token's `Max-Age` the whole REFRESH_TOKEN_TTL_SECONDS unless `maxAge` says otherwise.
   */
  function cookieToken(response: { headers: Headers }, maxAge = String(REFRESH_TTL_SECONDS)): string {
    const header = response.headers.get('set-cookie');
    expect(header).toMatch(setCookie(maxAge));
    return setCookie(maxAge).exec(header!)![1];
  }

  const cookieLogin = (email: string) => service.request('POST', '/auth/login', { body: { email, password: PASSWORD, refresh_cookie: true } });
  const cookieRefresh = (token?: string) =>
    service.request('POST', '/auth/refresh', { body: {}, headers: { 'x-atiru-refresh': 'cookie', ...(token === undefined ? {} : { cookie: `theme=dark; atiru_refresh=${token}` }) } });
  const me = (accessToken: string) => service.request('GET', '/users/me', { headers: { authorization: `Bearer ${accessToken}` } });
  const refused = (response: { status: number; body: { code?: string }; headers: Headers }) => ({ status: response.status, code: response.body.code, cookie: response.headers.get('set-cookie') });

  it('login with refresh_cookie: the body has no refresh token, the cookie carries it, HttpOnly, SameSite=Strict, on the refresh path only', async () => {
    const { email, id } = await account();
    const response = await cookieLogin(email);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(cookieSessionBody(id, email));
    const token = cookieToken(response);
    const [stored] = await sql(service, `SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex') AND retired_at IS NULL`, [token]);
    expect(stored.n).toBe(1);
    expect((await me(response.body.session.access_token)).status).toBe(200);
  });

  it('API clients that do not ask get the JSON tokens as before, and no cookie', async () => {
    const { email } = await account();
    for (const body of [{ email, password: PASSWORD }, { email, password: PASSWORD, refresh_cookie: false }]) {
      const response = await service.request('POST', '/auth/login', { body });
      expect(response.status).toBe(200);
      expect(response.body.session.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(response.headers.get('set-cookie')).toBeNull();
      const refreshed = await service.request('POST', '/auth/refresh', { body: { refresh_token: response.body.session.refresh_token } });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.session.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(refreshed.headers.get('set-cookie')).toBeNull();
    }
    const notBoolean = await service.request('POST', '/auth/login', { body: { email, password: PASSWORD, refresh_cookie: 'yes' } });
    expect([notBoolean.status, notBoolean.body.errors]).toEqual([400, [{ field: 'refresh_cookie', code: 'isBoolean', message: 'refresh_cookie must be a boolean value' }]]);
  });

  it('refresh with the cookie rotates it: a new cookie, no token in the body, a working access token', async () => {
    const { email, id } = await account();
    const first = cookieToken(await cookieLogin(email));
    const refreshed = await cookieRefresh(first);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual(cookieSessionBody(id, email));
    const second = cookieToken(refreshed);
    expect(second).not.toBe(first);
    expect((await me(refreshed.body.session.access_token)).status).toBe(200);
    expect((await cookieRefresh(second)).status).toBe(200);
  });

  it('reuse detection works through the cookie: an old cookie within the grace interval gets the head, after it kills the session and clears the cookie', async () => {
    const { email } = await account();
    const login = await cookieLogin(email);
    const t0 = cookieToken(login);
    const t1 = cookieToken(await cookieRefresh(t0));
    // A second tab that still had t0 is handed the same head of the chain.
    const replay = await cookieRefresh(t0);
    expect(replay.status).toBe(200);
    // Issued by the rotation a moment before, t1 has that moment less to live, and so has its cookie.
    expect(cookieToken(replay, `${REFRESH_TTL_SECONDS - 1}|${REFRESH_TTL_SECONDS}`)).toBe(t1);

    await sleep(GRACE_SECONDS * 1000 + 200);
    expect(refused(await cookieRefresh(t0))).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', cookie: CLEARED });
    // The whole session is gone: the thief's stolen t0 took the owner's t1 and access token with it.
    expect(refused(await cookieRefresh(t1))).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', cookie: CLEARED });
    expect((await me(login.body.session.access_token)).status).toBe(401);
  });

  it('a cookie refresh without a cookie, or with an unknown one, is 401 and clears the cookie', async () => {
    const missing = await cookieRefresh();
    expect(missing.body).toEqual({ statusCode: 401, code: 'INVALID_OR_EXPIRED_TOKEN', error: 'Invalid or expired refresh token', request_id: expect.any(String) });
    expect(missing.headers.get('set-cookie')).toBe(CLEARED);
    expect(refused(await cookieRefresh('not-a-token-anyone-was-given'))).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', cookie: CLEARED });
  });

  it('without the X-Atiru-Refresh header the cookie is not read: a body-less refresh is the 400 it always was', async () => {
    const { email } = await account();
    const token = cookieToken(await cookieLogin(email));
    const response = await service.request('POST', '/auth/refresh', { body: {}, headers: { cookie: `atiru_refresh=${token}` } });
    expect(response.body).toEqual({
      statusCode: 400,
      code: 'INVALID_REQUEST',
      error: 'Invalid request: refresh_token should not be empty',
      errors: [{ field: 'refresh_token', code: 'isNotEmpty', message: 'refresh_token should not be empty' }],
      request_id: expect.any(String),
    });
    expect(response.headers.get('set-cookie')).toBeNull();
    // The cookie still works for the dashboard.
    expect((await cookieRefresh(token)).status).toBe(200);
  });

  it('a refresh_token in the body wins over the cookie, and is answered in the body as today', async () => {
    const { email } = await account();
    const api = await login(service, email, PASSWORD);
    const cookie = cookieToken(await cookieLogin(email));
    const response = await service.request('POST', '/auth/refresh', {
      body: { refresh_token: api.session.refresh_token },
      headers: { 'x-atiru-refresh': 'cookie', cookie: `atiru_refresh=${cookie}` },
    });
    expect(response.status).toBe(200);
    expect(response.body.session.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('logout clears the cookie, and the cookie it cleared no longer refreshes', async () => {
    const { email } = await account();
    const login = await cookieLogin(email);
    const token = cookieToken(login);
    const logout = await service.request('POST', '/auth/logout', { headers: { authorization: `Bearer ${login.body.session.access_token}` } });
    expect([logout.status, logout.headers.get('set-cookie')]).toEqual([204, CLEARED]);
    expect(refused(await cookieRefresh(token))).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', cookie: CLEARED });
  });

  it('logout of the other sessions keeps this browser\'s cookie, and it still refreshes; a global logout clears it', async () => {
    const { email } = await account();
    const other = await cookieLogin(email);
    const mine = await cookieLogin(email);
    const bearer = { authorization: `Bearer ${mine.body.session.access_token}` };
    const others = await service.request('POST', '/auth/logout?scope=others', { headers: bearer });
    expect([others.status, others.headers.get('set-cookie')]).toEqual([204, null]);
    expect(refused(await cookieRefresh(cookieToken(other)))).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', cookie: CLEARED });
    const refreshed = await cookieRefresh(cookieToken(mine));
    expect(refreshed.status).toBe(200);
    const global = await service.request('POST', '/auth/logout?scope=global', { headers: { authorization: `Bearer ${refreshed.body.session.access_token}` } });
    expect([global.status, global.headers.get('set-cookie')]).toEqual([204, CLEARED]);
  });

  it('a page on another origin cannot send the cookie refresh header: the CORS preflight does not allow it', async () => {
    const origin = service.config.http.corsOrigins[0];
    const preflight = await service.request('OPTIONS', '/auth/refresh', {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-atiru-refresh' },
    });
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').split(',').map((name) => name.trim().toLowerCase());
    expect(allowed).toContain('content-type');
    expect(allowed).not.toContain('x-atiru-refresh');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
