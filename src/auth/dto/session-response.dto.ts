import { ApiProperty } from '@nestjs/swagger';

export class SessionUserDto {
  @ApiProperty({ format: 'uuid', example: '0b6f1f4e-3c1a-4c55-9a52-1f0d6a8f7c21' })
  id: string;

  @ApiProperty({ format: 'email', example: 'ada@example.com' })
  email: string;

  @ApiProperty({ format: 'date-time', example: '2024-01-15T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: '2024-01-15T12:00:00.000Z' })
  updated_at: string;
}

export class SessionTokensDto {
  @ApiProperty({ description: 'JWT (ES256) to send as `Authorization: Bearer …`', example: 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl' })
  access_token: string;

  @ApiProperty({
    description: 'Opaque, single-use: exchange it at POST /auth/refresh for a new pair; it rotates on every use',
    example: 'N2sV1c9n4k0xYwq8r6TzJm3aLd5pHf7gUe2bQi1oCk8',
  })
  refresh_token: string;

  @ApiProperty({ description: 'Seconds until the access token expires', example: 3600 })
  expires_in: number;

  @ApiProperty({ description: 'When the access token expires, in Unix epoch seconds', example: 1705323600 })
  expires_at: number;

  @ApiProperty({ enum: ['bearer'], example: 'bearer' })
  token_type: 'bearer';
}

/** The answer of login and refresh. */
export class SessionResponseDto {
  @ApiProperty({ type: SessionUserDto })
  user: SessionUserDto;

  @ApiProperty({ type: SessionTokensDto })
  session: SessionTokensDto;
}
