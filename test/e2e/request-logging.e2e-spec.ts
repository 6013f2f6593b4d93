import { connect } from 'node:net';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, uniqueEmail } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';

describe('request logging (real app, real PostgreSQL)', () => {
  let service: TestApp;
  let userId: string;
  let email: string;
  let accessToken: string;

  beforeAll(async () => {
    service = await startTestApp({ env: GENEROUS_RATE_LIMITS });
    email = uniqueEmail('logging');
    userId = await createConfirmedUser(service, email, PASSWORD);
    accessToken = (await login(service, email, PASSWORD)).session.access_token;
  });

  afterAll(async () => {
    await service?.close();
  });

  const accessLines = () => service.logs.entries().filter((entry) => entry.event === 'http_request');
  const linesOf = (requestId: string) => service.logs.entries().filter((entry) => entry.request_id === requestId);

  it('writes one access line per request: method, route pattern, status, duration, request id, client IP and the caller', async () => {
    const jwt = { authorization: `Bearer ${accessToken}`, 'x-request-id': 'access-jwt' };
    expect((await service.request('GET', '/users/me', { headers: jwt })).status).toBe(200);
    const created = await service.request('POST', '/auth/api-keys', { headers: { ...jwt, 'x-request-id': 'access-create' }, body: { name: 'log' } });
    expect(created.status).toBe(201);
    const { id: keyId } = created.body;
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': created.body.key, 'x-request-id': 'access-key' } })).status).toBe(200);
    expect((await service.request('DELETE', `/auth/api-keys/${keyId}`, { headers: { ...jwt, 'x-request-id': 'access-revoke' } })).status).toBe(204);
    expect((await service.request('GET', '/users/me', { headers: { 'x-request-id': 'access-anonymous' } })).status).toBe(401);
    expect((await service.request('GET', '/no/such/route', { headers: { 'x-request-id': 'access-unknown' }, contract: false })).status).toBe(404);

    const byId = (id: string) => {
      const lines = accessLines().filter((entry) => entry.request_id === id);
      expect(lines).toHaveLength(1);
      return lines[0];
    };
    const common = { level: 30, context: 'AccessLog', event: 'http_request', ip: '127.0.0.1', duration_ms: expect.any(Number) };
    expect(byId('access-jwt')).toEqual({
      ...common,
      time: expect.any(String),
      msg: 'GET /users/me 200',
      request_id: 'access-jwt',
      method: 'GET',
      route: '/users/me',
      status: 200,
      user_id: userId,
      auth: 'jwt',
    });
    expect(byId('access-create')).toMatchObject({ method: 'POST', route: '/auth/api-keys', status: 201, user_id: userId, auth: 'jwt' });
    expect(byId('access-key')).toMatchObject({ ...common, method: 'GET', route: '/users/me', status: 200, user_id: userId, auth: 'api_key' });
    expect(byId('access-revoke')).toMatchObject({ msg: 'DELETE /auth/api-keys/:id 204', route: '/auth/api-keys/:id', status: 204 });
    expect(byId('access-anonymous')).toMatchObject({ ...common, route: '/users/me', status: 401, user_id: null, auth: null });
    expect(byId('access-unknown')).toMatchObject({ ...common, msg: 'GET (no route) 404', route: null, status: 404, user_id: null });
    expect(byId('access-jwt').duration_ms).toBeGreaterThan(0);
  });

  it('never logs a credential: no password, access token, API key or token from a query string', async () => {
    const created = await service.request('POST', '/auth/api-keys', { headers: { authorization: `Bearer ${accessToken}` }, body: { name: 'secret' } });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect((await service.request('GET', '/users/me', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    const confirmToken = 'query-string-token-that-must-not-be-logged';
    const confirmed = await service.request('GET', `/auth/confirm?token=${confirmToken}`);
    expect(confirmed.status).toBe(302);
    expect(accessLines().some((entry) => entry.route === '/auth/confirm' && entry.status === 302)).toBe(true);

    const text = service.logs.text;
    for (const secret of [PASSWORD, accessToken, key, key.slice('atiru_'.length), confirmToken]) expect(text).not.toContain(secret);
  });

  it('names the request on the lines other classes write while serving it, when its body arrives after its headers', async () => {
    // A wrong password: the sessions service logs the failure without being handed the request.
    const status = await postWithLateBody(service.baseUrl, '/auth/login', { email, password: 'not the password' }, 'failed-login');
    expect(status).toBe(401);
    const lines = linesOf('failed-login');
    expect(lines.map((entry) => entry.context)).toEqual(expect.arrayContaining(['SessionsService', 'AccessLog']));
    expect(lines.find((entry) => entry.context === 'SessionsService')).toMatchObject({ level: 40, request_id: 'failed-login' });
  });

  it('leaves work outside any request (start-up, background workers) without a request id', () => {
    const started = service.logs.entries().filter((entry) => entry.context === 'SigningKeyRing');
    expect(started.length).toBeGreaterThan(0);
    for (const entry of started) expect(entry).not.toHaveProperty('request_id');
  });
});

/**
 * A POST whose body is sent a moment after its headers, so that the body reaches the service in
 * a later read of the connection than the request itself. Answers the response's status.
 */
function postWithLateBody(baseUrl: string, path: string, body: unknown, requestId: string): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(Number(answer.split(' ', 2)[1])));
    socket.on('error', reject);
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n`,
    );
    setTimeout(() => socket.write(payload), 50);
  });
}
