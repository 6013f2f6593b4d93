import { Client } from 'pg';
import { recordQueries } from '../support/query-recorder';
import { openTestSession, signedInUser, SignedInUser } from '../support/signed-in-user';
import { TestApp } from '../support/test-app';
import { startTwoInstances, TwoInstances } from '../support/two-instances';
import { eventually } from '../support/wait';

const REFUSED = { status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' };
/** How long a revocation made in SQL may take to reach both instances: a notification's way, with room for a busy machine. */
const HEARD_WITHIN_MS = 2_000;

/**
 * An operator revokes in SQL (psql, a bulk revoke during an incident), not through the API: the
 * database's triggers tell every instance, which stop serving the credential from memory as
 * soon as the change commits, without a restart and without waiting for its expiry.
 */
describe('revocations made in SQL reach every instance (two instances, one PostgreSQL)', () => {
  let instances: TwoInstances;
  let both: TestApp[];
  /** The operator's own connection, outside the service's pool. */
  let operator: Client;
  let counter = 0;

  beforeAll(async () => {
    instances = await startTwoInstances({ RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' });
    both = [instances.first, instances.second];
    operator = new Client({ connectionString: instances.database.url });
    await operator.connect();
  });

  afterAll(async () => {
    await operator?.end();
    await instances?.close();
  });

  const newUser = () => signedInUser(instances.first.app, `sql-revocation-${++counter}@example.com`);
  const me = (service: TestApp, headers: Record<string, string>) => service.request('GET', '/users/me', { headers });
  const outcome = (response: { status: number; body: any }) => ({ status: response.status, code: response.body.code });

  async function createKey(user: SignedInUser): Promise<{ id: string; headers: Record<string, string> }> {
    const created = await instances.first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'operator test' } });
    expect(created.status).toBe(201);
    return { id: created.body.id, headers: { 'x-api-key': created.body.key } };
  }

  /**
   * Both instances have checked the credential and now answer it from memory, without a
   * statement. Awaited rather than assumed, as the partition tests do: once in CI, on a loaded
   * machine, the second request still read the session; what the tests need is that memory
   * answers before the revocation, not on one given request.
   */
  async function servedFromMemory(headers: Record<string, string>): Promise<void> {
    for (const service of both) {
      expect((await me(service, headers)).status).toBe(200);
      const sql = await eventually(
        async () => {
          const queries = recordQueries(service.app);
          try {
            expect((await me(service, headers)).status).toBe(200);
          } finally {
            queries.stop();
          }
          return queries.sql;
        },
        (statements) => statements.length === 0,
        HEARD_WITHIN_MS,
      );
      expect(sql).toEqual([]);
    }
  }

  /** Each instance answers the credential from memory on this very request: no statement. */
  async function answeredFromMemory(...credentials: Array<Record<string, string>>): Promise<void> {
    for (const service of both) {
      const queries = recordQueries(service.app);
      try {
        for (const headers of credentials) expect((await me(service, headers)).status).toBe(200);
      } finally {
        queries.stop();
      }
      expect(queries.sql).toEqual([]);
    }
  }

  /** Polls both instances until each refuses the credential (or the time is up), then says what each answered. */
  async function refusedEverywhere(headers: Record<string, string>): Promise<void> {
    for (const service of both) {
      const answer = await eventually(async () => outcome(await me(service, headers)), (value) => value.status === 401, HEARD_WITHIN_MS);
      expect(answer).toEqual(REFUSED);
    }
  }

  it('an API key revoked by an UPDATE is refused by both instances', async () => {
    const key = await createKey(await newUser());
    await servedFromMemory(key.headers);

    await operator.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [key.id]);
    await refusedEverywhere(key.headers);
  });

  it('an API key removed by a DELETE is refused by both instances', async () => {
    const key = await createKey(await newUser());
    await servedFromMemory(key.headers);

    await operator.query('DELETE FROM api_keys WHERE id = $1', [key.id]);
    await refusedEverywhere(key.headers);
  });

  it('an API key whose expiry is moved to now is refused by both instances', async () => {
    const key = await createKey(await newUser());
    await servedFromMemory(key.headers);

    await operator.query('UPDATE api_keys SET expires_at = now() WHERE id = $1', [key.id]);
    await refusedEverywhere(key.headers);
  });

  it("a session revoked by an UPDATE: its access token is refused by both instances, the user's other session lives on", async () => {
    const user = await newUser();
    const other = { authorization: `Bearer ${(await openTestSession(instances.first.app, user)).access_token}` };
    await servedFromMemory(user.jwt);
    await servedFromMemory(other);

    await operator.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [user.sessionId]);
    await refusedEverywhere(user.jwt);
    for (const service of both) expect((await me(service, other)).status).toBe(200);
  });

  it('a session whose end is moved to now: its access token is refused by both instances', async () => {
    const user = await newUser();
    await servedFromMemory(user.jwt);

    await operator.query('UPDATE sessions SET expires_at = now() WHERE id = $1', [user.sessionId]);
    await refusedEverywhere(user.jwt);
  });

  it('a bulk revoke of every session and key of a user, in one statement each, reaches both instances', async () => {
    const user = await newUser();
    const keys = [await createKey(user), await createKey(user)];
    for (const credential of [user.jwt, ...keys.map((key) => key.headers)]) await servedFromMemory(credential);

    await operator.query('BEGIN');
    await operator.query('UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [user.id]);
    await operator.query('UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [user.id]);
    await operator.query('COMMIT');
    for (const credential of [user.jwt, ...keys.map((key) => key.headers)]) await refusedEverywhere(credential);
  });

  it('writes that end nothing (usage, a rename, a session refreshed to a later end) leave memory in place', async () => {
    const user = await newUser();
    const key = await createKey(user);
    const marker = await newUser();
    const markerKey = await createKey(marker);
    await servedFromMemory(key.headers);
    await servedFromMemory(user.jwt);

    await operator.query("UPDATE api_keys SET last_used_at = now(), last_used_ip = '203.0.113.9', name = 'renamed' WHERE id = $1", [key.id]);
    await operator.query("UPDATE sessions SET refreshed_at = now(), expires_at = expires_at + interval '1 day' WHERE id = $1", [user.sessionId]);
    // Heard after anything the writes above could have sent (commit order, one channel each).
    await operator.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [markerKey.id]);
    await operator.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [marker.sessionId]);
    await refusedEverywhere(markerKey.headers);
    await refusedEverywhere(marker.jwt);

    await answeredFromMemory(key.headers, user.jwt);
  });
});
