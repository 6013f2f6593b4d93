import { AccessTokenRefusal, AccessTokenSessions, AdmittedAccessToken } from '../../src/auth/tokens/access-token.sessions';
import { SessionLeases } from '../../src/auth/tokens/session-leases';
import { AuthenticatedUser } from '../../src/common/auth/principal';

const user: AuthenticatedUser = { id: 'u1', email: 'ada@example.com', emailConfirmedAt: null, createdAt: new Date(0), updatedAt: new Date(0) };
const claims = { sub: 'u1', sid: 's1', exp: Math.floor(Date.now() / 1000) + 900 };

type Found = { user: AuthenticatedUser; sessionExpiresAtMs: number; keyRetired: boolean } | null;

/** The admitted token, or undefined when it was refused. */
const admittedOf = (outcome: AdmittedAccessToken | AccessTokenRefusal) => (typeof outcome === 'string' ? undefined : outcome);

/** Session reads that answer when the test says, counting how many were started and for which key. */
function controlledReads() {
  const pending: Array<(found: Found) => void> = [];
  const signers: Array<string | undefined> = [];
  const repository = {
    findAuthenticatedInLiveSession: (_id: string, _sessionId: string, signedBy?: string) =>
      new Promise<Found>((resolve) => {
        signers.push(signedBy);
        pending.push(resolve);
      }),
  };
  return { repository, pending, signers, answerAll: (found: Found) => pending.splice(0).forEach((resolve) => resolve(found)) };
}

function setUp() {
  const leases = new SessionLeases(10);
  leases.resume(Date.now() + 3_600_000);
  const reads = controlledReads();
  const users = { readAuthenticatedUser: <T>(read: () => Promise<T | null>) => read() };
  const sessions = new AccessTokenSessions({ lease: (userId: string) => leases.lease(userId) } as never, users as never, reads.repository as never);
  return { sessions, leases, reads };
}

describe('AccessTokenSessions', () => {
  it('shares one read of a session among the tokens that bring it while the read is in flight', async () => {
    const { sessions, reads } = setUp();
    const first = sessions.admit(claims);
    const second = sessions.admit(claims);
    expect(reads.pending).toHaveLength(1);
    reads.answerAll({ user, sessionExpiresAtMs: Date.now() + 60_000, keyRetired: false });
    const [a, b] = (await Promise.all([first, second])).map(admittedOf);
    expect(a?.user).toBe(user);
    expect(b?.user).toBe(user);
    expect(a?.lease.live).toBe(true);
  });

  it('does not let a request that comes after a revocation join a read begun before it, and never leases it what that read answers', async () => {
    const { sessions, leases, reads } = setUp();
    const before = sessions.admit(claims);
    leases.end('u1'); // the user's sessions are revoked while the read is in flight
    const after = sessions.admit(claims);
    expect(reads.pending).toHaveLength(2); // the later request reads for itself
    // The first read was overtaken and may answer with the revoked session; the second sees it revoked.
    reads.pending[0]({ user, sessionExpiresAtMs: Date.now() + 60_000, keyRetired: false });
    reads.pending[1](null);
    const [early, late] = await Promise.all([before, after]);
    expect(admittedOf(early)?.lease.live).toBe(false); // nothing of it is served from memory
    expect(late).toBe('no_live_session');
  });

  it('answers no_live_session for a session that is not live, and bounds the lease by the session when it ends before the token', async () => {
    const { sessions, reads } = setUp();
    const refused = sessions.admit(claims);
    reads.answerAll(null);
    expect(await refused).toBe('no_live_session');
    const ending = Date.now() + 10_000;
    const admitted = sessions.admit(claims);
    reads.answerAll({ user, sessionExpiresAtMs: ending, keyRetired: false });
    expect(admittedOf(await admitted)?.liveUntilMs).toBe(ending);
  });

  it('asks after the key that signed the token in the same read, and refuses the token when it has retired', async () => {
    const { sessions, reads } = setUp();
    const retired = sessions.admit(claims, 'old-kid');
    expect(reads.signers).toEqual(['old-kid']);
    reads.answerAll({ user, sessionExpiresAtMs: Date.now() + 60_000, keyRetired: true });
    expect(await retired).toBe('key_retired');
  });

  it('does not let a token signed by another key join a read in flight, whose answer says nothing of its key', async () => {
    const { sessions, reads } = setUp();
    const byNewKey = sessions.admit(claims, 'new-kid');
    const byOldKey = sessions.admit(claims, 'old-kid');
    expect(reads.signers).toEqual(['new-kid', 'old-kid']);
    reads.pending[0]({ user, sessionExpiresAtMs: Date.now() + 60_000, keyRetired: false });
    reads.pending[1]({ user, sessionExpiresAtMs: Date.now() + 60_000, keyRetired: true });
    expect(await byOldKey).toBe('key_retired');
    expect(await byNewKey).toMatchObject({ user });
  });
});
