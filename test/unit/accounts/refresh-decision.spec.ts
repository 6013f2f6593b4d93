import { decideRefresh, RefreshState, sessionEnd } from '../../../src/accounts/sessions/refresh-decision';

const now = new Date('2026-01-15T12:00:00.000Z');
const seconds = (n: number) => new Date(now.getTime() + n * 1000);
const DAY = 86_400;
const liveSession = { createdAt: seconds(-3600), expiresAt: seconds(3600), revokedAt: null };
const liveToken = { expiresAt: seconds(3600), retiredAt: null, sharedAt: null };

function decide(overrides: Partial<RefreshState>) {
  return decideRefresh({ token: liveToken, session: liveSession, now, graceSeconds: 10, maxLifetimeSeconds: 90 * DAY, ...overrides });
}

describe('decideRefresh', () => {
  it('rotates the live head of a live session', () => {
    expect(decide({})).toEqual({ action: 'rotate' });
  });

  it('rejects an unknown token', () => {
    expect(decide({ token: null, session: null })).toEqual({ action: 'reject', reason: 'unknown_token' });
    expect(decide({ token: null })).toEqual({ action: 'reject', reason: 'unknown_token' });
  });

  it('rejects any token of a revoked session, retired or not, without further action', () => {
    const session = { ...liveSession, revokedAt: seconds(-1) };
    expect(decide({ session })).toEqual({ action: 'reject', reason: 'session_revoked' });
    expect(decide({ session, token: { ...liveToken, retiredAt: seconds(-100) } })).toEqual({ action: 'reject', reason: 'session_revoked' });
  });

  it('rejects a token of an expired session, the expiry instant included', () => {
    expect(decide({ session: { ...liveSession, expiresAt: now } })).toEqual({ action: 'reject', reason: 'session_expired' });
    expect(decide({ session: { ...liveSession, expiresAt: seconds(-5) } })).toEqual({ action: 'reject', reason: 'session_expired' });
  });

  it('rejects an expired live token', () => {
    expect(decide({ token: { ...liveToken, expiresAt: now } })).toEqual({ action: 'reject', reason: 'token_expired' });
  });

  it('replays a token retired within the grace interval', () => {
    expect(decide({ token: { ...liveToken, retiredAt: now } })).toEqual({ action: 'replay' });
    expect(decide({ token: { ...liveToken, retiredAt: seconds(-9.999) } })).toEqual({ action: 'replay' });
  });

  it('revokes the session for a token retired longer ago than the grace interval', () => {
    expect(decide({ token: { ...liveToken, retiredAt: seconds(-10) } })).toEqual({ action: 'revoke_session', reason: 'reused_after_grace' });
    expect(decide({ token: { ...liveToken, retiredAt: seconds(-86_400) } })).toEqual({ action: 'revoke_session', reason: 'reused_after_grace' });
  });

  it('revokes the session for a token a replay handed out, retired within the grace interval: the second replay in a row is a thief keeping up', () => {
    const shared = { ...liveToken, sharedAt: seconds(-3600), retiredAt: seconds(-1) };
    expect(decide({ token: shared })).toEqual({ action: 'revoke_session', reason: 'shared_token_replayed' });
    expect(decide({ token: { ...shared, retiredAt: now } })).toEqual({ action: 'revoke_session', reason: 'shared_token_replayed' });
    expect(decide({ token: { ...shared, retiredAt: seconds(-60) } })).toEqual({ action: 'revoke_session', reason: 'reused_after_grace' });
  });

  it('rotates a token a replay handed out while it is the live head: either of its holders may move the chain on', () => {
    expect(decide({ token: { ...liveToken, sharedAt: seconds(-1) } })).toEqual({ action: 'rotate' });
  });

  it('treats every reuse as theft when the grace interval is zero', () => {
    expect(decide({ token: { ...liveToken, retiredAt: now }, graceSeconds: 0 })).toEqual({ action: 'revoke_session', reason: 'reused_after_grace' });
    // A request that read the clock before a concurrent one retired the token still counts it as reused.
    expect(decide({ token: { ...liveToken, retiredAt: seconds(0.05) }, graceSeconds: 0 })).toEqual({ action: 'revoke_session', reason: 'reused_after_grace' });
    expect(decide({ token: { ...liveToken, retiredAt: seconds(0.05) }, graceSeconds: 10 })).toEqual({ action: 'replay' });
  });

  it('rejects every token of a session past its maximum lifetime, as an expired one, however recently it was refreshed', () => {
    // A session whose expiry slid past the cap before the cap existed (or was lowered) ends at the cap all the same.
    const old = { ...liveSession, createdAt: seconds(-90 * DAY), expiresAt: seconds(20 * DAY) };
    expect(decide({ session: old })).toEqual({ action: 'reject', reason: 'session_lifetime_over' });
    expect(decide({ session: old, token: { ...liveToken, retiredAt: seconds(-1) } })).toEqual({ action: 'reject', reason: 'session_lifetime_over' });
    expect(decide({ session: { ...old, createdAt: seconds(-90 * DAY + 1) } })).toEqual({ action: 'rotate' });
  });
});

describe('sessionEnd', () => {
  const ttl = 30 * DAY;
  const max = 90 * DAY;

  it('slides the end to a refresh TTL from now while the cap is further away', () => {
    expect(sessionEnd(now, now, ttl, max)).toEqual(seconds(ttl));
    expect(sessionEnd(seconds(-60 * DAY), now, ttl, max)).toEqual(seconds(ttl));
  });

  it('never past the login plus the maximum lifetime', () => {
    expect(sessionEnd(seconds(-80 * DAY), now, ttl, max)).toEqual(seconds(10 * DAY));
    expect(sessionEnd(seconds(-90 * DAY), now, ttl, max)).toEqual(now);
  });
});
