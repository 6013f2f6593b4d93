import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

@ApiSchema({ name: 'RefreshRequest' })
export class SessionRefreshDto {
  @ApiProperty({ description: 'The refresh token from the last login or refresh', example: 'N2sV1c9n4k0xYwq8r6TzJm3aLd5pHf7gUe2bQi1oCk8', maxLength: 512 })
  // class-validator checks the decorator nearest the property first.
  @MaxLength(512)
  @IsString()
  @IsNotEmpty()
  refresh_token: string;
}
