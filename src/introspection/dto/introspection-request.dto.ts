import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

@ApiSchema({ name: 'IntrospectionRequest', description: 'RFC 7662 §2.1, as a form (`token=…`) or as JSON' })
export class IntrospectionRequestDto {
  @ApiProperty({
    description: 'The credential to look at: an access token (JWT) or an API key, as its holder sent it',
    minLength: 1,
    maxLength: 4096,
    example: 'atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  token: string;

  @ApiPropertyOptional({
    description: 'What the caller thinks the token is (`access_token`, `api_key`); the service finds out itself and reads this as a hint only',
    maxLength: 64,
    example: 'api_key',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  token_type_hint?: string;
}
