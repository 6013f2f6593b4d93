import { ApiKeyCache } from '../../src/api-keys/api-key.cache';
import { hashApiKey } from '../../src/api-keys/api-key-format';
import { sql } from '../support/accounts';
import { recordQueries } from '../support/query-recorder';
import { signedInUser } from '../support/signed-in-user';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

/** Failed authentications are part of these tests: keep the per-IP limit out of the way. */
const TEST_ENV = { RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' };

/** Two instances of the service on one database, each with its own cache and its own listener. */
describe('API keys across instances (real apps, one PostgreSQL)', () => {
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  let secondRunning = false;

  beforeAll(async () => {
    database = await createTestDatabase();
    first = await startTestApp({ database, env: TEST_ENV });
    // A long interval: only the shutdown can write last_used_at on this instance.
    second = await startTestApp({ database, env: { ...TEST_ENV, API_KEY_LAST_USED_INTERVAL_SECONDS: '3600' } });
    secondRunning = true;
  });

  afterAll(async () => {
    if (secondRunning) await second.close();
    await first?.close();
    await database?.drop();
  });

  it('sees a revocation made on another instance on the very next request, both ways', async () => {
    const user = await signedInUser(first.app, 'ada@example.com');
    const headers = user.jwt;
    for (const [revoker, other] of [[first, second], [second, first]]) {
      const created = await revoker.request('POST', '/auth/api-keys', { headers, body: { name: 'shared' } });
      expect(created.status).toBe(201);
      const { id, key } = created.body;

      // Both instances have seen the key, and now answer it from their own caches, without the database.
      for (const instance of [revoker, other]) {
        expect((await instance.request('GET', '/users/me', { headers: { 'x-api-key': key } })).status).toBe(200);
        const queries = recordQueries(instance.app);
        expect((await instance.request('GET', '/users/me', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
        queries.stop();
        expect(queries.sql.filter((sql) => sql.includes('api_keys'))).toEqual([]);
        expect(instance.app.get(ApiKeyCache).lookup(hashApiKey(key), Date.now())).toMatchObject({ id });
      }

      expect((await revoker.request('DELETE', `/auth/api-keys/${id}`, { headers })).status).toBe(204);

      for (const keyHeaders of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }] as Array<Record<string, string>>) {
        const response = await other.request('GET', '/users/me', { headers: keyHeaders });
        expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
      }
    }
  });

  it('writes the last use on a clean shutdown', async () => {
    const user = await signedInUser(first.app, 'bob@example.com');
    const created = await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: {} });
    const { id, key } = created.body;
    const usedAt = Date.now();
    expect((await second.request('GET', '/users/me', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    const readLastUsed = async (): Promise<number | null> => {
      const [row] = await sql<{ ms: number | null }>(first, 'SELECT (extract(epoch FROM last_used_at) * 1000)::float8 AS ms FROM api_keys WHERE id = ?', [id]);
      return row.ms;
    };
    expect(await readLastUsed()).toBeNull();

    secondRunning = false;
    await second.close();
    expect(await readLastUsed()).toBeGreaterThanOrEqual(usedAt - 5);
  });
});
