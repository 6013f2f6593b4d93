import { ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TIMESTAMP_WITH_ZONE } from '../../common/time/timestamp-with-zone';
import { SCOPE_NAME } from '../../config/app-config';

const NO_CONTROL_CHARACTERS = /^\P{Cc}*$/u;

@ApiSchema({ name: 'ApiKeyCreateRequest' })
export class ApiKeyCreateDto {
  @ApiPropertyOptional({ description: 'A label to tell keys apart, without control characters', maxLength: 100, example: 'CI deploys', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  // PostgreSQL stores no NUL, and a line break or an escape in a label shown in lists and logs is never meant.
  @Matches(NO_CONTROL_CHARACTERS, { message: 'name must not contain control characters' })
  name?: string | null;

  @ApiPropertyOptional({
    description: 'When the key stops working (ISO-8601, in the future). Omit for a key that does not expire.',
    format: 'date-time',
    // Far enough ahead that the example keeps working as it is.
    example: '2099-01-15T12:00:00.000Z',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  @Matches(TIMESTAMP_WITH_ZONE, { message: 'expires_at must be a timestamp with a time zone, e.g. 2027-01-15T12:00:00.000Z' })
  expires_at?: string | null;

  @ApiPropertyOptional({
    description:
      'Limits the key to these scopes, from the vocabulary the operator configures (`API_KEY_SCOPES`, by default `read` and `write`). ' +
      'Omit for a key that may do everything. An operation needs `read` to be read (GET) and `write` otherwise, unless it says another.',
    type: [String],
    nullable: true,
    minItems: 1,
    maxItems: 32,
    example: ['read'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1, { message: 'scopes must name at least one scope; omit it for a key that may do everything' })
  @ArrayMaxSize(32)
  @IsString({ each: true })
  @Matches(SCOPE_NAME, { each: true, message: 'each of scopes must be a scope name' })
  scopes?: string[] | null;
}
