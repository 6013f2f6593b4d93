import { PROOF_VALID_MS } from '../../src/database/revocation-channel';
import { USER_CHANGED_CHANNEL } from '../../src/users/users.service';
import { GENEROUS_RATE_LIMITS, sql } from '../support/accounts';
import { Answer, answeredFromMemory, askWithoutPause, CUT_OFF_DATABASE_TIMEOUTS, listenerPortsThrough, PartitionedPair, startPartitionedPair } from '../support/partition';
import { SignedInUser, signedInUser } from '../support/signed-in-user';
import { TcpProxy } from '../support/tcp-proxy';
import { TestApp } from '../support/test-app';

const ENV = { ...GENEROUS_RATE_LIMITS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60', ...CUT_OFF_DATABASE_TIMEOUTS };

/** How long the second instance is asked once any proof of hearing it held has run out. */
const ASKED_AFTER_PROOF_MS = 2_000;

/**
 * Two instances on one PostgreSQL; the second reaches it through a proxy that can freeze its
 * connections without closing them, as a partition or a stuck middlebox would. A user's row is
 * changed in SQL, as an operator would, while the second cannot hear it: once the second's last
 * proof of hearing (a heartbeat sent before the freeze, answered) has run out, it must answer the
 * user as the database has it now, or 503 when it cannot read it, never the old profile (decision 011).
 */
describe('the users cache under partition (two instances, one cut off)', () => {
  let pair: PartitionedPair;
  let proxy: TcpProxy;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    pair = await startPartitionedPair(ENV);
    ({ proxy, first, second } = pair);
  });

  afterAll(() => pair?.close());

  afterEach(() => proxy.restore());

  /**
   * With `user` answered from the second instance's memory, partitions the second with
   * `partition` and changes the user's address in SQL, asking the second for the user all along.
   * Answers the old and the new profile, and what the second said to requests sent once any proof
   * of hearing it held had run out.
   */
  async function changeDuringPartition(user: SignedInUser, partition: () => Promise<void> | void) {
    await answeredFromMemory(second, user.jwt);
    const stale = (await second.request('GET', '/users/me', { headers: user.jwt })).body;
    expect(stale.email).toBe(user.email);
    await partition();
    // Every heartbeat answered on the second's listener was sent before this.
    const partitionedAt = Date.now();
    const email = `changed-${user.email}`;
    await sql(first, 'UPDATE users SET email = ? WHERE id = ?', [email, user.id]);
    const proofRunsOutBy = partitionedAt + PROOF_VALID_MS;
    const all = await askWithoutPause(second, user.jwt, () => Date.now() > proofRunsOutBy + ASKED_AFTER_PROOF_MS).done;
    return { stale, fresh: { ...stale, email }, after: all.filter((answer) => answer.sentAt >= proofRunsOutBy) };
  }

  const outcomes = (answers: Answer[]) => answers.map(({ status, body }) => ({ status, body }));

  it('a user changed while the LISTEN connection for user changes died silently: once its proof runs out, the new profile, never the old', async () => {
    const user = await signedInUser(first.app, 'silent-listener@example.com');

    // Only that connection: the credential's own caches keep proving they hear, so the token is
    // still answered from memory, and the user it acts as is what is at stake.
    const outcome = await changeDuringPartition(user, async () => {
      const listener = await listenerPortsThrough(first, proxy, USER_CHANGED_CHANNEL);
      expect(listener).toHaveLength(1);
      proxy.freezeConnections(listener);
    });

    expect(outcome.after.length).toBeGreaterThan(0);
    // The database is within reach: every answer is the user as it is now.
    expect(outcomes(outcome.after)).toEqual(outcome.after.map(() => ({ status: 200, body: outcome.fresh })));

    // Listening again on a new connection, it serves the new profile from memory.
    await answeredFromMemory(second, user.jwt);
    expect((await second.request('GET', '/users/me', { headers: user.jwt })).body).toEqual(outcome.fresh);
  }, 60_000);

  it('a user changed while the whole instance is frozen off: once its proof runs out, 503, never the old profile', async () => {
    const user = await signedInUser(first.app, 'frozen-instance@example.com');

    const outcome = await changeDuringPartition(user, () => proxy.freeze());

    expect(outcome.after.length).toBeGreaterThan(0);
    const served = outcome.after.filter((answer) => answer.status !== 503);
    expect(outcomes(served)).toEqual(served.map(() => ({ status: 200, body: outcome.fresh })));

    proxy.restore();
    await answeredFromMemory(second, user.jwt);
    expect((await second.request('GET', '/users/me', { headers: user.jwt })).body).toEqual(outcome.fresh);
  }, 60_000);
});
