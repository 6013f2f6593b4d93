import { Client } from 'pg';
import { GENEROUS_RATE_LIMITS } from '../support/accounts';
import { recordQueries } from '../support/query-recorder';
import { signedInUser } from '../support/signed-in-user';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { sleep, waitUntil } from '../support/wait';

/** Requests that bring the same credential at once. */
const CONCURRENT = 25;

/**
 * A credential not seen before costs one database read, however many requests bring it at once:
 * the first request's read is shared by the others, and so is its failure. The read is held back
 * by a lock on its table, taken on a connection of the test's own, so that every request has
 * arrived before it can answer.
 */
describe('one read per credential, however many ask at once', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;
  let locker: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env: { ...GENEROUS_RATE_LIMITS, MAIL_POLL_INTERVAL_MS: '60000' } });
    locker = new Client({ connectionString: database.url });
    await locker.connect();
  });

  afterAll(async () => {
    proxy?.restore();
    await locker?.end();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  /**
   * Sends CONCURRENT requests with `headers` while `table` is locked, waits until the service has
   * sent its statements on it and every request has had time to arrive, then runs `release`.
   */
  async function concurrentlyWhileLocked(table: string, headers: Record<string, string>, release: () => Promise<void>) {
    const recorder = recordQueries(service.app);
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    try {
      const answers = Array.from({ length: CONCURRENT }, () => service.request('GET', '/users/me', { headers }));
      await waitUntil(async () => recorder.sql.some((sql) => sql.includes(table)), `a read of ${table}`);
      // Requests that join a read in flight send nothing: give the late ones time to arrive.
      await sleep(500);
      await release();
      const responses = await Promise.all(answers);
      return { responses, reads: recorder.sql };
    } finally {
      recorder.stop();
      await locker.query('ROLLBACK').catch(() => undefined);
    }
  }

  const unlock = async () => {
    await locker.query('ROLLBACK');
  };

  it('reads a fresh API key once for all the requests that bring it, its user in the same read', async () => {
    const user = await signedInUser(service.app, `coalesce-key-${Date.now()}@example.com`);
    const key = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'fresh' } })).body.key as string;
    const { responses, reads } = await concurrentlyWhileLocked('api_keys', { 'x-api-key': key }, unlock);
    expect(responses.map((response) => response.status)).toEqual(Array(CONCURRENT).fill(200));
    expect(new Set(responses.map((response) => response.body.id))).toEqual(new Set([user.id]));
    // One statement for all of them: the key by its hash, joined with its user.
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/FROM api_keys k JOIN users u ON u\.id = k\.user_id\s+WHERE k\.key_hash = /);
  });

  it('reads a fresh access token\'s session once for all the requests that bring it', async () => {
    const user = await signedInUser(service.app, `coalesce-jwt-${Date.now()}@example.com`);
    const { responses, reads } = await concurrentlyWhileLocked('sessions', user.jwt, unlock);
    expect(responses.map((response) => response.status)).toEqual(Array(CONCURRENT).fill(200));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/FROM sessions s JOIN users u/);
  });

  it('answers every request that shared a read the same way when the read fails', async () => {
    const user = await signedInUser(service.app, `coalesce-fail-${Date.now()}@example.com`);
    const key = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'fails' } })).body.key as string;
    const { responses, reads } = await concurrentlyWhileLocked('api_keys', { 'x-api-key': key }, async () => {
      // The database goes away with the read in flight.
      proxy.cut();
    });
    try {
      expect(reads).toHaveLength(1);
      expect(responses.map((response) => ({ status: response.status, code: response.body.code, retryAfter: response.headers.get('retry-after') }))).toEqual(
        Array(CONCURRENT).fill({ status: 503, code: 'SERVER_BUSY', retryAfter: expect.stringMatching(/^[1-9]\d*$/) }),
      );
    } finally {
      proxy.restore();
    }
    // The failure was not remembered: once the database is back, the key is read and accepted.
    await waitUntil(async () => (await service.request('GET', '/users/me', { headers: { 'x-api-key': key } })).status === 200, 'the key accepted again');
  }, 30_000);
});
