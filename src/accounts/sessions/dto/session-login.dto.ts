import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { EmailField } from '../../email-address';
import { PASSWORD_MAX_LENGTH } from '../../passwords/password.hasher';

@ApiSchema({ name: 'LoginRequest' })
export class SessionLoginDto {
  @EmailField()
  email: string;

  @ApiProperty({ maxLength: PASSWORD_MAX_LENGTH, example: 'correct horse battery staple', format: 'password' })
  @MaxLength(PASSWORD_MAX_LENGTH)
  @IsString()
  @IsNotEmpty()
  password: string;

  @ApiPropertyOptional({
    description:
      'For a page served by this service (the built-in dashboard): true sets the refresh token as an HttpOnly, ' +
      'SameSite=Strict cookie scoped to /auth/refresh instead of returning it in the body. Left out (false), the body ' +
      'carries it: what API clients want.',
    example: false,
  })
  @IsOptional()
  @IsBoolean()
  refresh_cookie?: boolean;
}
