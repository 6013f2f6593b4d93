import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, uniqueEmail } from '../support/accounts';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

describe('every operation while the database is unreachable', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;
  let jwt: Record<string, string>;
  let refreshToken: string;
  let apiKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env: GENEROUS_RATE_LIMITS });
    const email = uniqueEmail('outage');
    await createConfirmedUser(service, email, 'correct horse battery');
    const { session } = await login(service, email, 'correct horse battery');
    jwt = { authorization: `Bearer ${session.access_token}` };
    refreshToken = session.refresh_token;
    apiKey = (await service.request('POST', '/auth/api-keys', { body: { name: 'outage' }, headers: jwt })).body.key;
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  const busy = { statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) };

  it('answers 503 SERVER_BUSY with Retry-After on each one that needs the database', async () => {
    const calls: Array<[string, string, unknown, Record<string, string>?]> = [
      ['GET', '/health', undefined],
      ['POST', '/auth/register', { email: uniqueEmail('outage-new'), password: 'correct horse battery' }],
      ['POST', '/auth/login', { email: uniqueEmail('outage-nobody'), password: 'correct horse battery' }],
      ['POST', '/auth/refresh', { refresh_token: refreshToken }],
      ['POST', '/auth/resend-confirmation', { email: uniqueEmail('outage-resend') }],
      ['POST', '/auth/forgot-password', { email: uniqueEmail('outage-forgot') }],
      ['POST', '/auth/reset-password', { token: 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A', password: 'correct horse battery' }],
      ['POST', '/auth/confirm', { token: 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A' }],
      ['POST', '/auth/logout', undefined, jwt],
      ['POST', '/auth/api-keys', { name: 'during the outage' }, jwt],
      ['GET', '/auth/api-keys', undefined, jwt],
      ['DELETE', '/auth/api-keys/3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32', undefined, jwt],
      ['GET', '/users/me', undefined, { 'x-api-key': apiKey }],
    ];
    proxy.cut();
    try {
      const answers: Record<string, unknown> = {};
      for (const [method, path, body, headers] of calls) {
        const response = await service.request(method, path, { body, headers });
        answers[`${method} ${path}`] = { status: response.status, body: response.body, retryAfter: response.headers.get('retry-after') };
      }
      const expected = Object.fromEntries(calls.map(([method, path]) => [`${method} ${path}`, { status: 503, body: busy, retryAfter: expect.stringMatching(/^[1-9]\d*$/) }]));
      expect(answers).toEqual(expected);
    } finally {
      proxy.restore();
    }
  });

  it('lands the confirmation link on the dashboard with an error the page can show', async () => {
    proxy.cut();
    try {
      const response = await service.request('GET', '/auth/confirm?token=q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A');
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).toBe('http://dashboard.test/');
      expect(Object.fromEntries(location.searchParams)).toEqual({
        error: 'The service is temporarily unavailable, please retry',
        error_code: 'SERVER_BUSY',
        request_id: response.headers.get('x-request-id'),
      });
    } finally {
      proxy.restore();
    }
  });

  it('answers 503 SERVER_BUSY, not 500, when the database accepts connections but never answers', async () => {
    proxy.stall();
    try {
      for (const [method, path, body] of [
        ['GET', '/health', undefined],
        ['POST', '/auth/login', { email: uniqueEmail('stalled'), password: 'correct horse battery' }],
      ] as const) {
        const response = await service.request(method, path, { body });
        expect({ path, status: response.status, body: response.body, retryAfter: response.headers.get('retry-after') }).toEqual({ path, status: 503, body: busy, retryAfter: '1' });
      }
    } finally {
      proxy.restore();
    }
    expect((await service.request('GET', '/health')).status).toBe(200);
  }, 30_000);
});
