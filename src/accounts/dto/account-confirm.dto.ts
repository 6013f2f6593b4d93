import { ApiSchema } from '@nestjs/swagger';
import { AccountConfirmQueryDto } from './account-confirm-query.dto';

/** Body of POST /auth/confirm: the token of the confirmation link, for clients that are not a browser. */
@ApiSchema({ name: 'ConfirmEmailRequest' })
export class AccountConfirmDto extends AccountConfirmQueryDto {}
