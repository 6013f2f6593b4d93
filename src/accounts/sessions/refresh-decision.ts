/** What the refresh endpoint does with a presented refresh token. */
export type RefreshDecision =
  /** The live head of its chain: retire it and hand out its successor. */
  | { action: 'rotate' }
  /** Retired moments ago (two tabs, a retried request): answer with the chain's current head. */
  | { action: 'replay' }
  /** Retired longer ago than the grace interval: someone kept a copy. Kill the session. */
  | { action: 'revoke_session' }
  | { action: 'reject'; reason: 'unknown_token' | 'session_revoked' | 'session_expired' | 'token_expired' };

export interface RefreshState {
  token: { expiresAt: Date; retiredAt: Date | null } | null;
  session: { expiresAt: Date; revokedAt: Date | null } | null;
  now: Date;
  graceSeconds: number;
}

/** The refresh policy, free of I/O. The caller holds the session's row lock while it applies the result. */
export function decideRefresh({ token, session, now, graceSeconds }: RefreshState): RefreshDecision {
  if (!token || !session) return { action: 'reject', reason: 'unknown_token' };
  if (session.revokedAt) return { action: 'reject', reason: 'session_revoked' };
  if (session.expiresAt.getTime() <= now.getTime()) return { action: 'reject', reason: 'session_expired' };
  if (token.retiredAt) {
    // `now` may be read before a concurrent request retired the token: never less than zero.
    const retiredFor = Math.max(0, now.getTime() - token.retiredAt.getTime());
    return retiredFor < graceSeconds * 1000 ? { action: 'replay' } : { action: 'revoke_session' };
  }
  if (token.expiresAt.getTime() <= now.getTime()) return { action: 'reject', reason: 'token_expired' };
  return { action: 'rotate' };
}
