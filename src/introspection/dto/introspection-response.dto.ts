import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

export type IntrospectedTokenType = 'access_token' | 'api_key';

/** RFC 7662 §2.2: `active`, and the rest only when it is true. */
@ApiSchema({ name: 'Introspection', description: 'RFC 7662 §2.2. Inactive (invalid, revoked, expired, unknown) is `{"active": false}` and nothing else.' })
export class IntrospectionResponseDto {
  @ApiProperty({ description: 'Whether the token is a live credential of this service right now', example: true })
  active: boolean;

  @ApiPropertyOptional({ format: 'uuid', description: 'The user the credential acts for', example: '7b0c9f2e-4a1d-4c3b-9e8f-2d6a5b4c3e21' })
  sub?: string;

  @ApiPropertyOptional({
    description: 'What it may do, space-separated: an API key\'s scopes; for a JWT or a key without scopes, every scope of API_KEY_SCOPES',
    example: 'read',
  })
  scope?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'When it stops working, epoch seconds; absent for an API key that does not expire', example: 1767225600 })
  exp?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'When it was issued (a JWT) or created (an API key), epoch seconds', example: 1767139200 })
  iat?: number;

  @ApiPropertyOptional({ enum: ['access_token', 'api_key'], description: 'Which kind of credential it is; both are sent as `Bearer`', example: 'api_key' })
  token_type?: IntrospectedTokenType;
}
