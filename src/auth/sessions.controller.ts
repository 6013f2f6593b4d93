import { Body, Controller, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Authenticated, Public } from '../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../common/auth/principal';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { SessionLoginDto } from './dto/session-login.dto';
import { SessionLogoutQueryDto } from './dto/session-logout-query.dto';
import { SessionRefreshDto } from './dto/session-refresh.dto';
import { SessionResponseDto } from './dto/session-response.dto';
import { Client, ClientInfo } from './sessions/client-info';
import { SessionsService } from './sessions/sessions.service';

@ApiTags('auth')
@Controller('auth')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('login')
  @Public()
  @RateLimit('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in with email and password',
    description:
      'Opens a session: a JWT access token (1 hour by default) and an opaque refresh token. An unknown email and a wrong ' +
      'password answer the same 401 INVALID_CREDENTIALS; 403 EMAIL_NOT_VERIFIED comes only after the right password.',
  })
  @ApiOkResponse({ description: 'A new session', type: SessionResponseDto })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: a field fails validation or the body is not JSON', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'INVALID_CREDENTIALS: unknown email or wrong password (one body for both)', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'EMAIL_NOT_VERIFIED: the password is right but the email is not confirmed yet', type: ErrorResponseDto })
  login(@Body() body: SessionLoginDto, @Client() client: ClientInfo): Promise<SessionResponseDto> {
    return this.sessions.login(body, client);
  }

  @Post('refresh')
  @Public()
  @RateLimit('refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Exchange a refresh token for new tokens',
    description:
      'Answers the same body as login. Refresh tokens rotate: each use returns a new one and retires the old. A retired token ' +
      'presented again within REFRESH_REUSE_GRACE_SECONDS (10 s by default) answers with the current head of the same chain ' +
      '(the same refresh token the first caller received, or its newest successor), so two tabs refreshing at once stay logged ' +
      'in and the session never forks. Presented later, it revokes the whole session, whose access tokens stop working at once ' +
      'on every instance. Concurrent refreshes of one session are ' +
      'serialised on the session row.',
  })
  @ApiOkResponse({ description: 'New tokens for the same session', type: SessionResponseDto })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: refresh_token is missing or not a string', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'INVALID_OR_EXPIRED_TOKEN: the refresh token is unknown, expired, revoked or reused', type: ErrorResponseDto })
  refresh(@Body() body: SessionRefreshDto): Promise<SessionResponseDto> {
    return this.sessions.refresh(body.refresh_token);
  }

  @Post('logout')
  @Authenticated({ jwtOnly: true })
  @HttpCode(204)
  @ApiOperation({
    summary: 'Log out',
    description:
      '`scope=local` (default) revokes the session of the access token; `others` every other session of the user; `global` ' +
      'all of them. Revoked sessions\' refresh tokens and access tokens stop working at once, on every instance of the ' +
      'service: the 204 is sent once every running instance has acknowledged the revocation (or after a 2 s timeout). An ' +
      'access token is only ever good while its session is live.',
  })
  @ApiNoContentResponse({ description: 'The sessions are revoked' })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: scope is not local, others or global', type: ErrorResponseDto })
  async logout(@Req() { user: principal }: AuthenticatedRequest, @Query() query: SessionLogoutQueryDto): Promise<void> {
    await this.sessions.logout(principal, query.scope ?? 'local');
  }
}
