import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { EMAIL_FORMAT } from '../../common/email-address';
import { NewEmailField } from '../email-address';
import { NewPasswordField } from './password.field';
import { RedirectToField } from './redirect-to.field';

@ApiSchema({ name: 'RegisterRequest', description: 'The new account' })
export class AccountRegisterDto {
  @NewEmailField()
  email: string;

  @NewPasswordField()
  password: string;

  @RedirectToField('Where the confirmation link lands once the email is confirmed.')
  redirect_to?: string;
}

@ApiSchema({ name: 'RegisteredUser' })
export class AccountSummaryDto {
  @ApiProperty({
    format: 'uuid',
    example: '0b6f1f4e-3c1a-4c55-9a52-1f0d6a8f7c21',
    description: 'The new user id; a random id when the email was already registered, so the answer does not reveal who has an account',
  })
  id: string;

  @ApiProperty({ format: EMAIL_FORMAT, example: 'ada@example.com' })
  email: string;
}

@ApiSchema({ name: 'RegisterResponse' })
export class AccountRegisterResponseDto {
  @ApiProperty({ example: 'Check your email to confirm your account.' })
  message: string;

  @ApiProperty({ type: AccountSummaryDto })
  user: AccountSummaryDto;
}
