import { SessionResponseDto } from '../dto/session-response.dto';

export interface IssuedAccessToken {
  access_token: string;
  expires_in: number;
  expires_at: number;
}

/** Login and refresh answer the same body, field for field the documented one. */
export function toSessionResponse(
  user: { id: string; email: string; createdAt: Date; updatedAt: Date },
  access: IssuedAccessToken,
  refreshToken: string,
): SessionResponseDto {
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
