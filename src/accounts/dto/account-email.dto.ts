import { ApiSchema } from '@nestjs/swagger';
import { EmailField } from '../email-address';
import { RedirectToField } from './redirect-to.field';

/** Body of resend-confirmation and forgot-password. */
@ApiSchema({ name: 'EmailLinkRequest', description: 'Who to send a link to, and where it lands' })
export class AccountEmailDto {
  @EmailField()
  email: string;

  @RedirectToField('Where the link in the mail lands.')
  redirect_to?: string;
}
