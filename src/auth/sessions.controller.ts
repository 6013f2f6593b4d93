import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Authenticated, Public } from '../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../common/auth/principal';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { ActiveSessionListResponseDto } from './dto/session-list-response.dto';
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

  @Get('sessions')
  @Authenticated({ jwtOnly: true })
  @ApiOperation({
    summary: "List the caller's sessions",
    description:
      'Every live session of the user (not revoked, not expired): the device (user agent) and address it was opened from, ' +
      'when, and its last activity, most recent first. `current` marks the session of the access token that asks. Last ' +
      'activity is the last login or refresh: requests made with access tokens are not recorded, so it can lag by up to an ' +
      'access token lifetime (ACCESS_TOKEN_TTL_SECONDS).',
  })
  @ApiOkResponse({ description: "The caller's live sessions", type: ActiveSessionListResponseDto })
  listSessions(@Req() { user: principal }: AuthenticatedRequest): Promise<ActiveSessionListResponseDto> {
    return this.sessions.list(principal);
  }

  @Delete('sessions/:id')
  @Authenticated({ jwtOnly: true })
  @HttpCode(204)
  @ApiOperation({
    summary: 'End one of the caller\'s sessions',
    description:
      'Signs a device out, as logout does for the caller\'s own session: the session\'s refresh token stops working and its ' +
      'access tokens are refused on every instance of the service before the 204 is sent (or after a 2 s timeout). The ' +
      'caller\'s own session may be ended this way too.',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The session id, from GET /auth/sessions', example: '7b2f0c1e-4d5a-4e8b-9f3c-2a1d6e0b8c47' })
  @ApiNoContentResponse({ description: 'The session is ended' })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: the id is not a UUID', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: "NOT_FOUND: no such session, another user's session, or one already ended", type: ErrorResponseDto })
  async revokeSession(@Req() { user: principal }: AuthenticatedRequest, @Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.sessions.revokeOne(principal, id);
  }
}
