import { createApiClient, ApiClient } from '../support/api-client';
import { signedInUser } from '../support/signed-in-user';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The journey of an Atiru user, driven only through the client generated from the committed
 * `openapi.yaml` (test/generated/atiru-api.d.ts + openapi-fetch). The steps share one service and
 * run in order; a path, parameter or body the file gets wrong fails to compile, and every response
 * is checked against the contract as well.
 */
describe('the generated client against the running service', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url) });
    api = createApiClient(service);
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  it('reads the health of the service', async () => {
    const { data, error, response } = await api.GET('/health');
    expect(response.status).toBe(200);
    expect(error).toBeUndefined();
    expect(data).toEqual({ status: 'ok', database: 'up' });
  });

  it('reads the keys that verify access tokens', async () => {
    const { data, response } = await api.GET('/.well-known/jwks.json');
    expect(response.status).toBe(200);
    expect(data?.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) })]);
  });

  it('reads the calling user with an access token, and gets MISSING_AUTH without one', async () => {
    const user = await signedInUser(service);
    const { data, response } = await api.GET('/users/me', { headers: { authorization: `Bearer ${user.accessToken}` } });
    expect(response.status).toBe(200);
    expect(data).toEqual({ id: user.id, email: user.email, created_at: expect.any(String), updated_at: expect.any(String), email_confirmed_at: null });

    const anonymous = await api.GET('/users/me');
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error?.code).toBe('MISSING_AUTH');
  });

  it('gets the typed error body while the database is away', async () => {
    proxy.cut();
    try {
      const { data, error, response } = await api.GET('/health');
      expect(response.status).toBe(503);
      expect(data).toBeUndefined();
      expect(error).toEqual({ statusCode: 503, code: 'SERVER_BUSY', error: expect.any(String) });
    } finally {
      proxy.restore();
    }
  });
});
