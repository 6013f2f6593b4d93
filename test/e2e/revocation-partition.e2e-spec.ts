import { Client } from 'pg';
import { ApiKeyRevocationListener } from '../../src/api-keys/api-key-revocation.listener';
import { SessionRevocations } from '../../src/auth/tokens/session.revocations';
import { ACK_TIMEOUT_MS } from '../../src/database/revocation-channel';
import { GENEROUS_RATE_LIMITS } from '../support/accounts';
import { Answer, answeredFromMemory, askWithoutPause, CUT_OFF_DATABASE_TIMEOUTS, PartitionedPair, startPartitionedPair } from '../support/partition';
import { signedInUser } from '../support/signed-in-user';
import { TcpProxy } from '../support/tcp-proxy';
import { TestDatabase } from '../support/test-database';
import { TestApp } from '../support/test-app';
import { sleep, waitUntil } from '../support/wait';

const ENV = { ...GENEROUS_RATE_LIMITS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60', ...CUT_OFF_DATABASE_TIMEOUTS };

/**
 * Two instances on one PostgreSQL; the second reaches it through a proxy that can freeze or cut
 * its connections, as a network partition would. A credential revoked on the first must never be
 * accepted by the second once the revocation has answered, even though the second never hears of
 * it: it stops answering from memory within the acknowledgement timeout (decision 011).
 */
describe('revocation holds under partition (two instances, one cut off)', () => {
  let pair: PartitionedPair;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    pair = await startPartitionedPair(ENV);
    ({ database, proxy, first, second } = pair);
  });

  afterAll(() => pair?.close());

  afterEach(async () => {
    proxy.restore();
    await listening(second);
  });

  const listening = (service: TestApp) =>
    waitUntil(async () => service.app.get(ApiKeyRevocationListener).connected && service.app.get(SessionRevocations).listening, 'both revocation channels to listen');

  /**
   * Partitions the second instance with `partition`, revokes with `revoke` on the first while the
   * second is asked for the credential all along, and answers what the second said after the
   * revocation answered, and how long the revocation took.
   */
  async function revokeDuringPartition(headers: Record<string, string>, partition: () => Promise<void> | void, revoke: () => Promise<number>) {
    await answeredFromMemory(second, headers);
    let stopAt = Number.POSITIVE_INFINITY;
    const hammering = askWithoutPause(second, headers, () => Date.now() > stopAt);
    // The answers given before the partition: at least one, whatever the clock's resolution.
    await waitUntil(async () => hammering.answers.length > 0, 'a first answer before the partition');
    const before = [...hammering.answers];
    await partition();
    const started = Date.now();
    expect(await revoke()).toBe(204);
    const revokedAt = Date.now();
    // Ask on for longer than any proof of hearing could last.
    stopAt = revokedAt + 2 * ACK_TIMEOUT_MS;
    const all = await hammering.done;
    return {
      took: revokedAt - started,
      before,
      after: all.filter((answer) => answer.sentAt >= revokedAt),
      duringPartition: all.filter((answer) => answer.sentAt >= started && answer.sentAt < revokedAt),
    };
  }

  const statuses = (answers: Answer[]) => [...new Set(answers.map((answer) => answer.status))].sort();

  it('a key deleted while the other instance is frozen off: DELETE answers after its timeout, and the frozen instance never accepts the key again', async () => {
    const user = await signedInUser(first.app, 'frozen-key@example.com');
    const created = await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'partition' } });
    const headers = { 'x-api-key': created.body.key as string };

    const outcome = await revokeDuringPartition(headers, () => proxy.freeze(), async () => (await first.request('DELETE', `/auth/api-keys/${created.body.id}`, { headers: user.jwt })).status);

    // The frozen instance could not acknowledge: the revocation waited its whole timeout.
    expect(outcome.took).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS - 100);
    // Before the partition it answered from memory; afterwards it never accepted the key.
    expect(statuses(outcome.before)).toEqual([200]);
    expect(outcome.after.length).toBeGreaterThan(0);
    expect(statuses(outcome.after)).toEqual([503]);

    proxy.restore();
    await listening(second);
    const refused = await second.request('GET', '/users/me', { headers });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
  }, 60_000);

  it('a session logged out while the other instance is cut off: its token is never accepted there again', async () => {
    const user = await signedInUser(first.app, 'cut-session@example.com');

    const outcome = await revokeDuringPartition(user.jwt, () => proxy.cut(), async () => (await first.request('POST', '/auth/logout', { headers: user.jwt })).status);

    expect(statuses(outcome.before)).toEqual([200]);
    expect(outcome.after.length).toBeGreaterThan(0);
    expect(statuses(outcome.after)).toEqual([503]);

    proxy.restore();
    await listening(second);
    expect((await second.request('GET', '/users/me', { headers: user.jwt })).status).toBe(401);
  }, 60_000);

  it('a key deleted after the database dropped the frozen instance\'s connection, unknown to it: still never accepted there', async () => {
    const user = await signedInUser(first.app, 'dropped-key@example.com');
    const created = await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'partition' } });
    const headers = { 'x-api-key': created.body.key as string };

    // Frozen, then its connections ended on the server's side: the first instance counts no
    // listener of the second's in pg_stat_activity, and the second hears nothing of it.
    const dropSecondsConnections = async () => {
      proxy.freeze();
      const admin = new Client({ connectionString: database.url });
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND client_port = ANY($1::int[])', [proxy.upstreamPorts()]);
      } finally {
        await admin.end();
      }
    };
    const outcome = await revokeDuringPartition(headers, dropSecondsConnections, async () => (await first.request('DELETE', `/auth/api-keys/${created.body.id}`, { headers: user.jwt })).status);

    // The second was heard alive lately: the revocation waited for it, in vain, until its timeout.
    expect(outcome.took).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS - 100);
    expect(statuses(outcome.after)).toEqual([503]);
  }, 60_000);

  it('listens again within a second of the database\'s return after a long outage, and revocations reach it again', async () => {
    const user = await signedInUser(first.app, 'returning@example.com');
    const created = await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'returning' } });
    const headers = { 'x-api-key': created.body.key as string };

    proxy.cut();
    await sleep(10_000);
    proxy.restore();
    const restoredAt = Date.now();
    await listening(second);
    // Within about a second (the capped backoff), with slack for a busy machine; the old backoff
    // had grown to 16 s by then.
    expect(Date.now() - restoredAt).toBeLessThan(2_000);

    // Serving from memory again, and a revocation on the first instance is acknowledged by it at once.
    await answeredFromMemory(second, headers);
    const started = Date.now();
    expect((await first.request('DELETE', `/auth/api-keys/${created.body.id}`, { headers: user.jwt })).status).toBe(204);
    // Acknowledged by both, not answered after the timeout.
    expect(Date.now() - started).toBeLessThan(ACK_TIMEOUT_MS - 300);
    expect((await second.request('GET', '/users/me', { headers })).status).toBe(401);
  }, 60_000);
});
