import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { UserSummaryDto } from '../../../users/dto/user-profile-response.dto';

/** The user in a session answer (its own schema name, the fields of every user summary). */
@ApiSchema({ name: 'SessionUser' })
export class SessionUserDto extends UserSummaryDto {}

@ApiSchema({ name: 'Session', description: 'The tokens of a session' })
export class SessionTokensDto {
  @ApiProperty({ description: 'JWT (ES256) to send as `Authorization: Bearer …`', example: 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl' })
  access_token: string;

  @ApiProperty({
    description:
      'Opaque, single-use: exchange it at POST /auth/refresh for a new pair; it rotates on every use. It expires ' +
      'REFRESH_TOKEN_TTL_SECONDS after it was issued, and never later than SESSION_MAX_LIFETIME_SECONDS after the login. Absent when the ' +
      'login asked for `refresh_cookie` (or the refresh used the cookie): the token is then in the `atiru_refresh` cookie.',
    example: 'N2sV1c9n4k0xYwq8r6TzJm3aLd5pHf7gUe2bQi1oCk8',
    required: false,
  })
  refresh_token?: string;

  @ApiProperty({ type: 'integer', description: 'Seconds until the access token expires: ACCESS_TOKEN_TTL_SECONDS, or less when the session reaches its maximum lifetime sooner', example: 3600 })
  expires_in: number;

  @ApiProperty({ type: 'integer', description: 'When the access token expires, in Unix epoch seconds', example: 1705323600 })
  expires_at: number;

  @ApiProperty({ enum: ['bearer'], example: 'bearer' })
  token_type: 'bearer';
}

/** The answer of login and refresh. */
@ApiSchema({ name: 'SessionResponse', description: 'A session and its user: the answer of login and refresh' })
export class SessionResponseDto {
  @ApiProperty({ type: SessionUserDto })
  user: SessionUserDto;

  @ApiProperty({ type: SessionTokensDto })
  session: SessionTokensDto;
}
