import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** What every answer about a key says: never the key itself (except at creation), never its hash. */
class ApiKeyFieldsDto {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32' })
  id: string;

  @ApiProperty({ description: 'The first 10 characters of the key, to recognise it', example: 'atiru_Ab3x', minLength: 10, maxLength: 10 })
  key_prefix: string;

  @ApiProperty({ type: String, nullable: true, maxLength: 100, example: 'CI deploys' })
  name: string | null;

  @ApiProperty({ format: 'date-time', example: '2024-01-15T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Null: the key does not expire. A rolled key ends here, at the end of its grace period.', example: '2027-01-15T12:00:00.000Z' })
  expires_at: string | null;

  @ApiProperty({ type: [String], nullable: true, description: 'The scopes the key is limited to; null: it may do everything', example: ['read'] })
  scopes: string[] | null;
}

/** A key as listed. */
@ApiSchema({ name: 'ApiKey' })
export class ApiKeyResponseDto extends ApiKeyFieldsDto {
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Null: never used. Updated at most once a minute (configurable).', example: '2024-01-16T08:30:00.000Z' })
  last_used_at: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The key this one was rolled to; it stops working at its `expires_at`. Null: not rolled.', example: null })
  replaced_by: string | null;
}

@ApiSchema({ name: 'ApiKeyList' })
export class ApiKeyListResponseDto {
  @ApiProperty({ type: [ApiKeyResponseDto], description: "The caller's active keys (not revoked, not expired), newest first" })
  api_keys: ApiKeyResponseDto[];
}

/** The answer to a creation: the only time the key itself is ever shown. */
@ApiSchema({ name: 'NewApiKey', description: 'A key just created: the only answer that carries the key itself' })
export class ApiKeyCreatedResponseDto extends ApiKeyFieldsDto {
  @ApiProperty({
    description: 'The key. Shown this once and never again: store it now.',
    example: 'atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe',
    pattern: '^atiru_[0-9A-Za-z]{38}$',
    minLength: 44,
    maxLength: 44,
  })
  key: string;
}
