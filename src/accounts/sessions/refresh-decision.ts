/** What the refresh endpoint does with a presented refresh token. */
export type RefreshDecision =
  /** The live head of its chain: retire it and hand out its successor. */
  | { action: 'rotate' }
  /** Retired moments ago (two tabs, a retried request): answer with the chain's current head. */
  | { action: 'replay' }
  /**
   * Someone kept a copy: retired longer ago than the grace interval, or retired within it but
   * already handed out twice (by its rotation and by a replay). Kill the session.
   */
  | { action: 'revoke_session'; reason: 'reused_after_grace' | 'shared_token_replayed' }
  | { action: 'reject'; reason: 'unknown_token' | 'session_revoked' | 'session_expired' | 'session_lifetime_over' | 'token_expired' };

export interface RefreshPolicy {
  graceSeconds: number;
  /** How long after its login a session may still be refreshed, however often it was. */
  maxLifetimeSeconds: number;
}

export interface RefreshState extends RefreshPolicy {
  token: { expiresAt: Date; retiredAt: Date | null; sharedAt: Date | null } | null;
  session: { createdAt: Date; expiresAt: Date; revokedAt: Date | null } | null;
  now: Date;
}

/** The refresh policy, free of I/O. The caller holds the session's row lock while it applies the result. */
export function decideRefresh({ token, session, now, graceSeconds, maxLifetimeSeconds }: RefreshState): RefreshDecision {
  if (!token || !session) return { action: 'reject', reason: 'unknown_token' };
  if (session.revokedAt) return { action: 'reject', reason: 'session_revoked' };
  if (session.expiresAt.getTime() <= now.getTime()) return { action: 'reject', reason: 'session_expired' };
  // Checked apart from expiresAt, which a rotation caps: sessions rotated before the cap existed,
  // or under a longer one, end on time too.
  if (lifetimeEnd(session.createdAt, maxLifetimeSeconds).getTime() <= now.getTime()) return { action: 'reject', reason: 'session_lifetime_over' };
  if (token.retiredAt) {
    // Another instance's clock may be behind the one that retired the token: never less than zero.
    const retiredFor = Math.max(0, now.getTime() - token.retiredAt.getTime());
    if (retiredFor >= graceSeconds * 1000) return { action: 'revoke_session', reason: 'reused_after_grace' };
    // A replay hands the head to whoever holds a token retired moments ago: a second tab, a retry,
    // or a thief who saw the owner refresh. A thief must then replay again at each of the owner's
    // rotations to keep up; an honest client rarely races twice in a row. So a token a replay
    // handed out gets no replay of its own: the second one ends the ride, and the session.
    if (token.sharedAt) return { action: 'revoke_session', reason: 'shared_token_replayed' };
    return { action: 'replay' };
  }
  if (token.expiresAt.getTime() <= now.getTime()) return { action: 'reject', reason: 'token_expired' };
  return { action: 'rotate' };
}

/**
 * When a session opened at `createdAt` and refreshed `now` ends unless refreshed again: the sliding
 * end (`ttlSeconds` from now) or the session's absolute end, whichever comes first. Its new refresh
 * token ends then too.
 */
export function sessionEnd(createdAt: Date, now: Date, ttlSeconds: number, maxLifetimeSeconds: number): Date {
  return new Date(Math.min(now.getTime() + ttlSeconds * 1000, lifetimeEnd(createdAt, maxLifetimeSeconds).getTime()));
}

/** When a session opened at `createdAt` can live no longer, however often it is refreshed. */
export function lifetimeEnd(createdAt: Date, maxLifetimeSeconds: number): Date {
  return new Date(createdAt.getTime() + maxLifetimeSeconds * 1000);
}
