import { GENEROUS_RATE_LIMITS, linkStartingWith, nextMailTo, uniqueEmail } from '../support/accounts';
import { createApiClient, ApiClient } from '../support/api-client';
import { TestSmtpServer } from '../support/smtp';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';
const WELCOME = 'https://app.atiru.test/welcome';

function tokenOf(link: string): string {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });

/**
 * Atiru's users, driven only through the client generated from the committed `openapi.yaml`
 * (client/atiru-api.d.ts + openapi-fetch), against the real service, PostgreSQL and an SMTP
 * server. A path, parameter, body or response the file gets wrong fails to compile, and every
 * response is checked against the contract as well.
 */
describe('the generated client against the running service', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let smtp: TestSmtpServer;
  let service: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url } });
    api = createApiClient(service);
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await smtp?.stop();
    await proxy?.stop();
    await database?.drop();
  });

  it('reads the health of the service and the keys that verify access tokens', async () => {
    const health = await api.GET('/health');
    expect(health.response.status).toBe(200);
    expect(health.data).toEqual({ status: 'ok', database: 'up' });

    const jwks = await api.GET('/.well-known/jwks.json');
    expect(jwks.response.status).toBe(200);
    expect(jwks.data?.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) })]);
  });

  it('walks the journey: register, confirm from the mail, log in, refresh, use API keys, forgot and reset the password, log out', async () => {
    const email = uniqueEmail('client');

    const registered = await api.POST('/auth/register', { body: { email, password: PASSWORD, redirect_to: WELCOME } });
    expect(registered.response.status).toBe(201);
    expect(registered.data?.user.email).toBe(email);

    const confirmation = await nextMailTo(smtp, email, 0);
    const token = tokenOf(linkStartingWith(confirmation, `${service.config.http.publicUrl}/auth/confirm?token=`));
    // A program confirms with the token; the link itself is a browser's (a page with a button).
    const confirmed = await api.POST('/auth/confirm', { body: { token } });
    expect(confirmed.response.status).toBe(200);
    expect(confirmed.data).toEqual({ message: 'Your email address is confirmed. You can log in.' });

    const anonymous = await api.GET('/users/me');
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error?.code).toBe('MISSING_AUTH');

    const loggedIn = await api.POST('/auth/login', { body: { email, password: PASSWORD } });
    expect(loggedIn.response.status).toBe(200);
    const first = loggedIn.data!.session;
    expect(first).toMatchObject({ token_type: 'bearer', expires_in: 3600 });

    const me = await api.GET('/users/me', { headers: bearer(first.access_token) });
    expect(me.data).toMatchObject({ id: registered.data!.user.id, email, email_confirmed_at: expect.any(String) });

    const refreshed = await api.POST('/auth/refresh', { body: { refresh_token: first.refresh_token } });
    expect(refreshed.response.status).toBe(200);
    const second = refreshed.data!.session;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await api.GET('/users/me', { headers: bearer(second.access_token) })).response.status).toBe(200);

    const created = await api.POST('/auth/api-keys', { body: { name: 'ci' }, headers: bearer(second.access_token) });
    expect(created.response.status).toBe(201);
    const apiKey = created.data!;
    expect(apiKey).toMatchObject({ name: 'ci', key_prefix: apiKey.key.slice(0, 10), expires_at: null });
    const listed = await api.GET('/auth/api-keys', { headers: bearer(second.access_token) });
    expect(listed.data?.api_keys.map((key) => key.id)).toEqual([apiKey.id]);
    for (const headers of [bearer(apiKey.key), { 'x-api-key': apiKey.key }]) {
      const viaKey = await api.GET('/users/me', { headers });
      expect(viaKey.data?.id).toBe(registered.data!.user.id);
    }
    const keyOnKeys = await api.GET('/auth/api-keys', { headers: { 'x-api-key': apiKey.key } });
    expect(keyOnKeys.error?.code).toBe('JWT_REQUIRED');
    const revoked = await api.DELETE('/auth/api-keys/{id}', { params: { path: { id: apiKey.id } }, headers: bearer(second.access_token) });
    expect(revoked.response.status).toBe(204);
    expect((await api.GET('/users/me', { headers: { 'x-api-key': apiKey.key } })).error?.code).toBe('INVALID_OR_EXPIRED_TOKEN');

    const forgot = await api.POST('/auth/forgot-password', { body: { email } });
    expect(forgot.response.status).toBe(200);
    // Mail 1 was the notice of the new API key.
    expect((await nextMailTo(smtp, email, 1)).subject).toBe('A new API key was created on your Atiru account');
    const reset = await nextMailTo(smtp, email, 2);
    const resetToken = tokenOf(linkStartingWith(reset, service.config.http.dashboardUrl));
    expect((await api.POST('/auth/reset-password', { body: { token: resetToken, password: NEW_PASSWORD } })).response.status).toBe(200);

    const stale = await api.POST('/auth/refresh', { body: { refresh_token: second.refresh_token } });
    expect(stale.response.status).toBe(401);
    expect(stale.error?.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    const oldPassword = await api.POST('/auth/login', { body: { email, password: PASSWORD } });
    expect(oldPassword.error?.code).toBe('INVALID_CREDENTIALS');

    const again = (await api.POST('/auth/login', { body: { email, password: NEW_PASSWORD } })).data!.session;
    const loggedOut = await api.POST('/auth/logout', { params: { query: { scope: 'global' } }, headers: bearer(again.access_token) });
    expect(loggedOut.response.status).toBe(204);
    expect((await api.POST('/auth/refresh', { body: { refresh_token: again.refresh_token } })).response.status).toBe(401);
  });

  it('gets the typed error body while the database is away', async () => {
    proxy.cut();
    try {
      const { data, error, response } = await api.GET('/health');
      expect(response.status).toBe(503);
      expect(data).toBeUndefined();
      expect(error).toEqual({ statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) });
    } finally {
      proxy.restore();
    }
  });
});
