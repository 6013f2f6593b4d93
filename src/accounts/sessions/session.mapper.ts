import { ActiveSessionDto } from './dto/active-session-list-response.dto';
import { SessionResponseDto } from './dto/session-response.dto';
import { SessionEntity } from './session.entity';

export interface IssuedAccessToken {
  access_token: string;
  expires_in: number;
  expires_at: number;
}

/** A refresh token as login or refresh hands it out: the secret, and the end of its life. */
export interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
}

/**
 * What login and refresh hand out: the documented body, and how many seconds its refresh token
 * lives, which the body leaves out and the refresh cookie's `Max-Age` needs (the earlier of the
 * sliding TTL and the session's maximum lifetime).
 */
export interface IssuedSession {
  response: SessionResponseDto;
  refreshExpiresIn: number;
}

/** Login and refresh answer the same body, field for field the documented one; `now` is when the tokens were issued. */
export function toIssuedSession(
  user: { id: string; email: string; createdAt: Date; updatedAt: Date },
  access: IssuedAccessToken,
  refresh: IssuedRefreshToken,
  now: Date,
): IssuedSession {
  return { response: toSessionResponse(user, access, refresh.token), refreshExpiresIn: Math.max(0, Math.floor((refresh.expiresAt.getTime() - now.getTime()) / 1000)) };
}

function toSessionResponse(user: { id: string; email: string; createdAt: Date; updatedAt: Date }, access: IssuedAccessToken, refreshToken: string): SessionResponseDto {
  return {
    user: { id: user.id, email: user.email, created_at: user.createdAt.toISOString(), updated_at: user.updatedAt.toISOString() },
    session: {
      access_token: access.access_token,
      refresh_token: refreshToken,
      expires_in: access.expires_in,
      expires_at: access.expires_at,
      token_type: 'bearer',
    },
  };
}

/** A live session in its owner's list; `currentSessionId` is the session of the caller's access token. */
export function toActiveSession(session: SessionEntity, currentSessionId: string | undefined): ActiveSessionDto {
  return {
    id: session.id,
    created_at: session.createdAt.toISOString(),
    last_active_at: (session.refreshedAt ?? session.createdAt).toISOString(),
    user_agent: session.userAgent,
    ip: session.ip,
    current: session.id === currentSessionId,
  };
}
