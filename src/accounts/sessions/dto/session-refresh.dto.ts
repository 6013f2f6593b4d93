import { ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength, ValidateIf } from 'class-validator';

@ApiSchema({ name: 'RefreshRequest' })
export class SessionRefreshDto {
  @ApiPropertyOptional({
    description: 'The refresh token from the last login or refresh. Required, unless the request refreshes with the cookie (`X-Atiru-Refresh: cookie`).',
    example: 'N2sV1c9n4k0xYwq8r6TzJm3aLd5pHf7gUe2bQi1oCk8',
    maxLength: 512,
  })
  // class-validator checks the decorator nearest the property first.
  @MaxLength(512)
  @IsString()
  @IsNotEmpty()
  // Left out only by a cookie refresh; the controller refuses its absence otherwise.
  @ValidateIf((body: SessionRefreshDto) => body.refresh_token !== undefined)
  refresh_token?: string;
}
