import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { EmailField } from '../email-address';
import { PASSWORD_MAX_LENGTH } from '../passwords/password-hasher';

@ApiSchema({ name: 'LoginRequest' })
export class SessionLoginDto {
  @EmailField()
  email: string;

  @ApiProperty({ maxLength: PASSWORD_MAX_LENGTH, example: 'correct horse battery staple', format: 'password' })
  @MaxLength(PASSWORD_MAX_LENGTH)
  @IsString()
  @IsNotEmpty()
  password: string;
}
