import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** A live session as its owner sees it in a list: the device, never a token. */
@ApiSchema({ name: 'ActiveSession', description: 'A live session of the caller' })
export class ActiveSessionDto {
  @ApiProperty({ format: 'uuid', description: 'The session id (the `sid` claim of its access tokens)', example: '7b2f0c1e-4d5a-4e8b-9f3c-2a1d6e0b8c47' })
  id: string;

  @ApiProperty({ format: 'date-time', description: 'When the session was opened (the login)', example: '2024-01-15T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({
    format: 'date-time',
    description: 'The last login or refresh of the session: access tokens are not counted, so this lags real use by up to an access token lifetime',
    example: '2024-01-16T08:30:00.000Z',
  })
  last_active_at: string;

  @ApiProperty({ type: String, nullable: true, maxLength: 512, description: 'The User-Agent of the login', example: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36' })
  user_agent: string | null;

  @ApiProperty({ type: String, nullable: true, maxLength: 64, description: 'The client address of the login (behind TRUST_PROXY, the forwarded one)', example: '203.0.113.7' })
  ip: string | null;

  @ApiProperty({ description: 'True for the session of the access token that asked', example: true })
  current: boolean;
}

@ApiSchema({ name: 'ActiveSessionList' })
export class ActiveSessionListResponseDto {
  @ApiProperty({ type: [ActiveSessionDto], description: "The caller's live sessions (not revoked, not expired), most recently active first" })
  sessions: ActiveSessionDto[];
}
