import { randomUUID } from 'node:crypto';
import { ApiKeyUsageRecorder, firstRetainedDay, utcDay } from '../../src/api-keys/usage/api-key-usage.recorder';
import { ApiKeyUsageRepository } from '../../src/api-keys/usage/api-key-usage.repository';
import { sql } from '../support/accounts';
import { recordQueries } from '../support/query-recorder';
import { SignedInUser, signedInUser } from '../support/signed-in-user';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

/** Five requests per key per minute, and a flush interval long enough that only the test (or a stop) flushes. */
const ENV = { RATE_LIMIT_API_KEY: '5/60', API_KEY_LAST_USED_INTERVAL_SECONDS: '3600' };
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const AGENT = 'deploy-bot/2.1 (usage test)';

describe('API key usage (real apps, real PostgreSQL)', () => {
  let database: TestDatabase;
  let service: TestApp;
  let ada: SignedInUser;
  let bob: SignedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startTestApp({ database, env: ENV });
    ada = await signedInUser(service.app, 'ada@example.com');
    bob = await signedInUser(service.app, 'bob@example.com');
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  async function newKey(user: SignedInUser): Promise<{ id: string; key: string }> {
    const response = await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'usage' } });
    expect(response.status).toBe(201);
    return response.body;
  }

  const usageOf = (user: SignedInUser, id: string) => service.request('GET', `/auth/api-keys/${id}/usage`, { headers: user.jwt });

  it('counts admitted and refused requests per day, with the last IP and user agent, and writes nothing on the request path', async () => {
    const { id, key } = await newKey(ada);
    const headers = { authorization: `Bearer ${key}`, 'user-agent': AGENT };
    const before = Date.now();
    // The first request reads the key (it was never seen); every later one is answered from memory.
    expect((await service.request('GET', '/users/me', { headers })).status).toBe(200);

    const queries = recordQueries(service.app);
    const statuses: number[] = [];
    for (let index = 0; index < 7; index++) statuses.push((await service.request('GET', '/users/me', { headers })).status);
    // A valid key on a JWT-only operation is refused too.
    statuses.push((await service.request('GET', '/auth/api-keys', { headers })).status);
    queries.stop();
    const after = Date.now();
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 403]);
    expect(queries.sql).toEqual([]);

    // Nothing is written until the recorder flushes.
    expect((await usageOf(ada, id)).body).toMatchObject({ last_used_at: null, days: [] });
    await service.app.get(ApiKeyUsageRecorder).flush();

    const usage = await usageOf(ada, id);
    expect(usage.status).toBe(200);
    expect(usage.body).toEqual({
      id,
      last_used_at: expect.stringMatching(ISO),
      last_used_ip: '127.0.0.1',
      last_used_user_agent: AGENT,
      since: firstRetainedDay(after),
      // Across midnight the counts split over two days; their sums are checked below.
      days: utcDay(before) === utcDay(after) ? [{ day: utcDay(after), succeeded: 5, refused: 4 }] : expect.any(Array),
    });
    const total = (usage.body.days as Array<{ succeeded: number; refused: number }>).reduce((sum, day) => [sum[0] + day.succeeded, sum[1] + day.refused], [0, 0]);
    expect(total).toEqual([5, 4]);
    const lastUsedAt = Date.parse(usage.body.last_used_at);
    expect(lastUsedAt).toBeGreaterThanOrEqual(before - 5);
    expect(lastUsedAt).toBeLessThanOrEqual(after + 5);

    // The list shows the same last use.
    const listed = (await service.request('GET', '/auth/api-keys', { headers: ada.jwt })).body.api_keys.find((item: { id: string }) => item.id === id);
    expect(listed.last_used_at).toBe(usage.body.last_used_at);
  });

  it("answers 404 for another user's key and for an unknown one, and 403 to a key", async () => {
    const { id, key } = await newKey(ada);
    for (const [user, keyId] of [[bob, id], [ada, randomUUID()]] as const) {
      const response = await usageOf(user, keyId);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    }
    const byKey = await service.request('GET', `/auth/api-keys/${id}/usage`, { headers: { 'x-api-key': key } });
    expect({ status: byKey.status, code: byKey.body.code }).toEqual({ status: 403, code: 'JWT_REQUIRED' });
  });

  it('adds to the counts of the day, shows only the last 90 days, and prunes older ones', async () => {
    const { id } = await newKey(ada);
    const now = Date.now();
    const oldDay = utcDay(now - 90 * 86_400_000);
    const oldestKept = firstRetainedDay(now);
    await sql(service, 'INSERT INTO api_key_usage_days (api_key_id, day, succeeded, refused) VALUES (?, ?::date, 7, 1), (?, ?::date, 3, 0)', [id, oldDay, id, oldestKept]);
    const repository = service.app.get(ApiKeyUsageRepository);
    const write = { id, lastUsedAt: new Date(now), ip: '203.0.113.7', userAgent: null, days: [{ day: oldestKept, succeeded: 2, refused: 2 }] };
    await repository.recordUsage([write]);

    expect((await usageOf(ada, id)).body).toMatchObject({ last_used_ip: '203.0.113.7', last_used_user_agent: null, since: oldestKept, days: [{ day: oldestKept, succeeded: 5, refused: 2 }] });
    // An older last use never moves the stored one back.
    await repository.recordUsage([{ ...write, lastUsedAt: new Date(now - 60_000), ip: '198.51.100.1', days: [] }]);
    expect((await usageOf(ada, id)).body.last_used_ip).toBe('203.0.113.7');

    await repository.pruneBefore(oldestKept);
    const rows = await sql<{ day: string }>(service, "SELECT to_char(day, 'YYYY-MM-DD') AS day FROM api_key_usage_days WHERE api_key_id = ? ORDER BY day", [id]);
    expect(rows.map((row) => row.day)).toEqual([oldestKept]);
  });

  it('writes the pending usage when an instance stops cleanly', async () => {
    const { id, key } = await newKey(ada);
    const second = await startTestApp({ database, env: ENV });
    try {
      for (let index = 0; index < 3; index++) {
        expect((await second.request('GET', '/users/me', { headers: { 'x-api-key': key, 'user-agent': 'second/1' } })).status).toBe(200);
      }
    } finally {
      await second.close();
    }
    const usage = (await usageOf(ada, id)).body;
    expect({ agent: usage.last_used_user_agent, succeeded: usage.days.reduce((sum: number, day: { succeeded: number }) => sum + day.succeeded, 0) }).toEqual({ agent: 'second/1', succeeded: 3 });
  });
});
