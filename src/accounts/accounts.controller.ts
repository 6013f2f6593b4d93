import { Body, Controller, Get, HttpCode, Post, Query, Redirect, Req, Res, UseFilters } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBadRequestResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtension,
  ApiFoundResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Authenticated, Public } from '../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../common/auth/principal';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { BROWSER_LINK_EXTENSION } from '../openapi';
import { ACCEPTS_FORM } from '../common/http/body-parsers';
import { confirmationPage } from './confirmation-page';
import { ACCOUNT_MESSAGES, AccountsService } from './accounts.service';
import { ConfirmLinkErrorFilter } from './confirm-link-error.filter';
import { AccountConfirmDto } from './dto/account-confirm.dto';
import { AccountConfirmQueryDto } from './dto/account-confirm-query.dto';
import { AccountEmailDto } from './dto/account-email.dto';
import { AccountRegisterDto, AccountRegisterResponseDto } from './dto/account-register.dto';
import { MessageResponseDto } from './dto/message-response.dto';
import { PasswordChangeDto } from './dto/password-change.dto';
import { PasswordResetDto } from './dto/password-reset.dto';
import { Client, ClientInfo } from '../common/http/client-info';

/** The limit the browser's two confirmation routes share, as their descriptions state it. */
const CONFIRM_LINK_LIMIT =
  'Opening a link and pressing its button together are limited per token, whatever the client\'s address ' +
  '(RATE_LIMIT_CONFIRM_TOKEN, 20 per 15 minutes by default): one link\'s page cannot be requested at speed, and no ' +
  'other page, which can make its visitors\' browsers open links and post forms here, can spend the limit of a ' +
  'network\'s people. Over it, the browser is redirected to the dashboard with `error_code=RATE_LIMITED`.';

/**
 * The headers of the confirmation routes' redirects. A browser's request over its limit, or one the
 * service could not serve, is redirected rather than answered 429 or 503, and keeps their `Retry-After`.
 */
const CONFIRM_REDIRECT_HEADERS = {
  Location: { description: 'The `redirect_to` given at registration, or the dashboard URL', required: true, schema: { type: 'string', format: 'uri' } },
  'Retry-After': {
    description: 'Only when `Location` carries `error_code=RATE_LIMITED` or `SERVER_BUSY`: seconds to wait before trying the link again',
    required: false,
    schema: { type: 'integer', minimum: 0, example: 42 },
  },
};

/** The limits register, resend-confirmation and forgot-password share, as their descriptions state them. */
const MAIL_LIMITS =
  'Register, resend-confirmation and forgot-password are limited together per client IP (RATE_LIMIT_MAIL_IP, 30 per ' +
  'hour by default) and per client IP and email (RATE_LIMIT_MAIL_IP_EMAIL, 5 per hour), never per email alone: nobody ' +
  'can have another person\'s requests refused. To protect the inbox, an address is sent at most RATE_LIMIT_MAIL_EMAIL ' +
  '(10 per hour) of the mails these requests send, whoever asks: a request beyond that is answered exactly as any other ' +
  'and sends nothing.';

/** What a 429 on those three routes means: always the caller's own requests. */
const MAIL_LIMITED = { limited: 'too many of these requests from this client address, or from it for this email' };

const INVALID_BODY = 'INVALID_REQUEST: a field fails validation (named in `error`), the body is not JSON, or redirect_to is not on the allow-list';

@ApiTags('auth')
@Controller('auth')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post('register')
  @Public()
  @RateLimit('mail', MAIL_LIMITED)
  @ApiOperation({
    summary: 'Register an account',
    description:
      'Records the registration and sends its confirmation email. Each registration keeps its own password until its own ' +
      'link is clicked, which confirms the account and discards the address\'s other registrations. If the address was ' +
      'registered only once, that registration\'s password becomes the account\'s. If it was registered more than once ' +
      'before being confirmed, the link proves the mailbox but not which password its owner chose: the account is confirmed ' +
      'without a password, and the address is mailed a link to choose one. So nobody can set the password of an address ' +
      'whose mail they cannot read. `user.id` is the registration\'s id, which becomes the account\'s id when its link is ' +
      'clicked and the address was registered only once. To keep who has an account private, an email that is already ' +
      'registered gets the same 201, in the same time: a confirmed account is sent a short "someone tried to register with ' +
      'your address" email with a login and a password reset link, and the new password is dropped. Emails are trimmed, ' +
      'lower-cased and compared case-insensitively. ' +
      MAIL_LIMITS,
  })
  @ApiCreatedResponse({ description: 'Registered (or, indistinguishably, already registered): a mail is on its way', type: AccountRegisterResponseDto })
  @ApiBadRequestResponse({ description: INVALID_BODY, type: ErrorResponseDto })
  registerUser(@Body() body: AccountRegisterDto): Promise<AccountRegisterResponseDto> {
    return this.accounts.register(body);
  }

  @Get('confirm')
  @Public()
  @RateLimit('confirm_link', { redirects: true })
  @UseFilters(ConfirmLinkErrorFilter)
  @ApiExtension(BROWSER_LINK_EXTENSION, true)
  @ApiProduces('text/html')
  @ApiOperation({
    summary: 'The confirmation link in the email (a browser link)',
    description:
      'What the link in the confirmation email opens. Opening it changes nothing: it answers a page naming the address, ' +
      'whose button posts the token to POST /auth/confirm-link, which confirms. Mail gateways and link scanners open ' +
      'links before the person does, so a link that confirmed when opened would confirm a registration nobody chose to ' +
      'confirm, with the password of whoever registered. Programs confirm with POST /auth/confirm instead. A link that ' +
      'can do nothing never shows the page: a bad or expired token, or one whose registration is gone, redirects (302) ' +
      'to the `redirect_to` given at registration, else to the dashboard, with `error` and `error_code=INVALID_REQUEST` ' +
      'query parameters; a missing token, or the service being unavailable (`error_code=SERVER_BUSY`), to the dashboard ' +
      'with `error`, `error_code` and `request_id`. A link already used shows the page again, and its button lands on ' +
      'success again, within the link\'s lifetime (24 h by default, CONFIRM_TOKEN_TTL_SECONDS). ' +
      CONFIRM_LINK_LIMIT,
  })
  @ApiOkResponse({
    description: 'The confirmation page: the address, and a button that posts the token to POST /auth/confirm-link. No script; it sends no Referer',
    content: { 'text/html': { schema: { type: 'string' } } },
  })
  @ApiFoundResponse({
    description: 'The link can do nothing, or was opened over its limit: redirect to the landing page with `error` and `error_code` (`RATE_LIMITED`: with `Retry-After`)',
    headers: CONFIRM_REDIRECT_HEADERS,
  })
  async openConfirmationLink(@Query() query: AccountConfirmQueryDto, @Res() reply: FastifyReply): Promise<FastifyReply> {
    const preview = await this.accounts.previewConfirmation(query.token);
    const page = confirmationPage({ email: preview.email, token: query.token, landings: preview.landings });
    return reply.headers(page.headers).send(page.html);
  }

  @Post('confirm-link')
  @Public()
  @RateLimit('confirm_link', { redirects: true })
  @RouteConfig(ACCEPTS_FORM)
  @Redirect()
  @UseFilters(ConfirmLinkErrorFilter)
  @ApiExtension(BROWSER_LINK_EXTENSION, true)
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiOperation({
    summary: 'The button on the confirmation link\'s page (a browser form)',
    description:
      'What the page of GET /auth/confirm posts. A valid token confirms the email and redirects (303) to the `redirect_to` ' +
      'given at registration, else to the dashboard; with a `choose_password=1` query parameter when the address was ' +
      'registered more than once, so the account has no password yet and a link to choose one was just mailed (the ' +
      'dashboard says so). Any failure of the form redirects too, never answers JSON: a bad or expired token to the same place with ' +
      '`error` and `error_code=INVALID_REQUEST`; a missing token, or the service being unavailable (`error_code=SERVER_BUSY`), ' +
      'to the dashboard with `error`, `error_code` and `request_id`. Idempotent within the token\'s lifetime. ' +
      CONFIRM_LINK_LIMIT,
  })
  @ApiResponse({
    status: 303,
    description:
      'Redirect to the landing page; `Location` carries `choose_password=1` when the account must choose its password from the mailed link, ' +
      '`error` and `error_code` when the email could not be confirmed (`RATE_LIMITED`: with `Retry-After`)',
    headers: CONFIRM_REDIRECT_HEADERS,
  })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: the body is a malformed form (a browser\'s never is), refused as JSON before the route is reached', type: ErrorResponseDto })
  @ApiUnsupportedMediaTypeResponse({ description: 'UNSUPPORTED_MEDIA_TYPE: the body is neither a form nor JSON, refused as JSON before the route is reached', type: ErrorResponseDto })
  async submitConfirmationPage(@Body() body: AccountConfirmDto): Promise<{ url: string; statusCode: number }> {
    return { url: await this.accounts.confirmEmail(body.token), statusCode: 303 };
  }

  @Post('confirm')
  @Public()
  @RateLimit('confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Confirm an email address with the token of its confirmation link',
    description:
      'For programs (a single-page app that receives the link, a mobile app, a test): the token is the `token` query ' +
      'parameter of the link in the confirmation email. Idempotent within the token\'s lifetime, like the link itself. When ' +
      'the address was registered more than once, the account is confirmed without a password and a link to choose one is ' +
      'mailed; the message then says so. Limited per client IP (RATE_LIMIT_CONFIRM_IP, 60 per 15 minutes by default).',
  })
  @ApiOkResponse({
    description:
      `The email address is confirmed: "${ACCOUNT_MESSAGES.emailConfirmed}", or, when it was registered more than once, ` +
      `"${ACCOUNT_MESSAGES.emailConfirmedChoosePassword}"`,
    type: MessageResponseDto,
  })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: the token is missing, invalid or expired', type: ErrorResponseDto })
  confirmEmail(@Body() body: AccountConfirmDto): Promise<MessageResponseDto> {
    return this.accounts.confirmEmailToken(body.token);
  }

  @Post('resend-confirmation')
  @Public()
  @RateLimit('mail', MAIL_LIMITED)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send the confirmation email again',
    description:
      'Answers the same 200, in the same time, whether or not the account exists: the request is recorded and decided ' +
      'afterwards. The newest pending registration of the address is sent a new link (valid CONFIRM_TOKEN_TTL_SECONDS); a ' +
      'confirmed or unknown address is sent nothing. If the address has other registrations, the link confirms the account ' +
      'without any of their passwords (see POST /auth/register). ' +
      MAIL_LIMITS,
  })
  @ApiOkResponse({ description: 'The same answer whether or not the account exists', type: MessageResponseDto })
  @ApiBadRequestResponse({ description: INVALID_BODY, type: ErrorResponseDto })
  resendConfirmation(@Body() body: AccountEmailDto): Promise<MessageResponseDto> {
    return this.accounts.resendConfirmation(body);
  }

  @Post('forgot-password')
  @Public()
  @RateLimit('mail', MAIL_LIMITED)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Request a password reset link',
    description:
      'Answers the same 200, in the same time, whether or not the account exists: the request is recorded and decided ' +
      'afterwards. An existing account is sent a link to `redirect_to` (else the ' +
      'dashboard) with a one-time `token` query parameter, valid for 1 hour (RESET_TOKEN_TTL_SECONDS). That page asks for the ' +
      'new password and posts `{ token, password }` to POST /auth/reset-password. ' +
      MAIL_LIMITS,
  })
  @ApiOkResponse({ description: 'The same answer whether or not the account exists', type: MessageResponseDto })
  @ApiBadRequestResponse({ description: INVALID_BODY, type: ErrorResponseDto })
  forgotPassword(@Body() body: AccountEmailDto): Promise<MessageResponseDto> {
    return this.accounts.forgotPassword(body);
  }

  @Post('reset-password')
  @Public()
  @RateLimit('reset')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Set a new password with a reset token',
    description:
      'Sets the new password, spends the token (and any other outstanding reset token of the user), confirms the email if it ' +
      'was not, revokes every session of the user and mails its owner a notice (time, client IP and user agent). API keys ' +
      'outlive a reset unless `revoke_api_keys` is true: then every key of the user is revoked in the same transaction and ' +
      'stops working on every instance before this answers. The notice says how many keys still work, or were revoked, and ' +
      'links the API keys page. The token is ' +
      'looked up before the password is hashed, so a bad token is refused at once. Limited per client IP (RATE_LIMIT_RESET_IP, ' +
      '20 per 15 minutes by default) and per token (RATE_LIMIT_RESET_TOKEN, 5 per 15 minutes).',
  })
  @ApiOkResponse({ description: 'The password is changed and every session of the user is revoked (and every API key, with `revoke_api_keys`)', type: MessageResponseDto })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: a field fails validation, or the token is invalid, expired or already used', type: ErrorResponseDto })
  resetPassword(@Body() body: PasswordResetDto, @Client() client: ClientInfo): Promise<MessageResponseDto> {
    return this.accounts.resetPassword(body, client);
  }

  @Post('password')
  @Authenticated({ jwtOnly: true })
  @RateLimit('login')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Change the password',
    description:
      'For a signed-in person who knows the current password (who does not: POST /auth/forgot-password). Sets the new ' +
      'password, revokes every OTHER session of the user on every instance (the calling session stays signed in), spends ' +
      'any outstanding reset link, and mails the owner a notice (time, client IP and user agent). A wrong current password ' +
      'answers 401 INVALID_CREDENTIALS and counts against the login limits of the client IP and of the account ' +
      '(RATE_LIMIT_LOGIN_IP, RATE_LIMIT_LOGIN_IP_EMAIL), as a failed login does.',
  })
  @ApiNoContentResponse({ description: 'The password is changed and every other session is revoked' })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: a field fails validation (the new password is 6 to 256 characters)', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'INVALID_CREDENTIALS: the current password is wrong', type: ErrorResponseDto })
  async changePassword(@Req() { user: principal }: AuthenticatedRequest, @Body() body: PasswordChangeDto, @Client() client: ClientInfo): Promise<void> {
    await this.accounts.changePassword(principal, body, client);
  }
}
