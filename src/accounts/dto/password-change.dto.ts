import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { PASSWORD_MAX_LENGTH } from '../passwords/password.hasher';
import { NewPasswordField } from './password.field';

@ApiSchema({ name: 'PasswordChangeRequest' })
export class PasswordChangeDto {
  @ApiProperty({ maxLength: PASSWORD_MAX_LENGTH, description: 'The password in use now', example: 'correct horse battery staple', format: 'password' })
  @MaxLength(PASSWORD_MAX_LENGTH)
  @IsString()
  @IsNotEmpty()
  current_password: string;

  @NewPasswordField()
  new_password: string;
}
