import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiHeader, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticated, Public } from '../../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../../common/auth/principal';
import { AppError } from '../../common/errors/app-error';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { UuidParamPipe } from '../../common/http/uuid-param.pipe';
import { RateLimit } from '../../rate-limit/rate-limit.decorator';
import { ActiveSessionListResponseDto } from './dto/active-session-list-response.dto';
import { SessionLoginDto } from './dto/session-login.dto';
import { SessionLogoutQueryDto } from './dto/session-logout-query.dto';
import { SessionRefreshDto } from './dto/session-refresh.dto';
import { SessionResponseDto } from './dto/session-response.dto';
import { Client, ClientInfo } from '../../common/http/client-info';
import { REFRESH_COOKIE_MODE } from '../../common/auth/refresh-cookie-header';
import { RefreshCookie } from './refresh.cookie';
import { SessionsService } from './sessions.service';

/** The refresh cookie a response may set or clear (decision 012). */
const SET_REFRESH_COOKIE = {
  'Set-Cookie': {
    description:
      'Only for the cookie mode of the built-in dashboard: `atiru_refresh=<token>` with `Max-Age` the refresh token\'s remaining life (set), ' +
      'or `atiru_refresh=` with `Max-Age=0` (cleared)',
    required: false,
    schema: { type: 'string', example: 'atiru_refresh=N2sV1c9n4k0xYwq8r6TzJm3aLd5pHf7gUe2bQi1oCk8; Max-Age=2592000; Path=/auth/refresh; HttpOnly; SameSite=Strict; Secure' },
  },
};

/** A refresh with neither a body token nor the cookie header: what validation would have said. */
function missingRefreshToken(): AppError {
  return AppError.invalidRequest('Invalid request: refresh_token should not be empty', [
    { field: 'refresh_token', code: 'isNotEmpty', message: 'refresh_token should not be empty' },
  ]);
}

@ApiTags('auth')
@Controller('auth')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly cookie: RefreshCookie,
  ) {}

  @Post('login')
  @Public()
  @RateLimit('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in with email and password',
    description:
      'Opens a session: a JWT access token (1 hour by default) and an opaque refresh token. An unknown email and a wrong ' +
      'password answer the same 401 INVALID_CREDENTIALS; 403 EMAIL_NOT_VERIFIED comes only after the right password. With ' +
      '`refresh_cookie: true` (the built-in dashboard) the refresh token is not in the body but in the `atiru_refresh` ' +
      'cookie (HttpOnly, SameSite=Strict, Path=/auth/refresh, Secure unless PUBLIC_URL is http://localhost).',
  })
  @ApiOkResponse({ description: 'A new session', type: SessionResponseDto, headers: SET_REFRESH_COOKIE })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: a field fails validation or the body is not JSON', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'INVALID_CREDENTIALS: unknown email or wrong password (one body for both)', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'EMAIL_NOT_VERIFIED: the password is right but the email is not confirmed yet', type: ErrorResponseDto })
  async login(@Body() body: SessionLoginDto, @Client() client: ClientInfo, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionResponseDto> {
    const issued = await this.sessions.login(body, client);
    return body.refresh_cookie ? this.cookie.hand(issued, reply) : issued.response;
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
      'in and the session never forks. A token handed out that way is held twice, so it gets no such grace itself: presented ' +
      'again after it was rotated, it is reuse. Presented later than the grace interval, or a token handed out by a grace ' +
      'replay presented again after its rotation, it revokes the whole session, whose access tokens stop working at once ' +
      'on every instance. A session ends REFRESH_TOKEN_TTL_SECONDS (30 days by default) after its last refresh, and ' +
      'SESSION_MAX_LIFETIME_SECONDS (90 days by default) after its login however often it is refreshed: the new refresh token ' +
      'expires at the earlier of the two, and a refresh after either answers 401. Concurrent refreshes of one session are ' +
      'serialised on the session row. A browser that logged in with `refresh_cookie` sends `{}` and ' +
      '`X-Atiru-Refresh: cookie`: the token comes from the `atiru_refresh` cookie and the new one goes back into it; a ' +
      'missing or refused cookie answers 401 and clears it. A `refresh_token` in the body always wins.',
  })
  @ApiHeader({ name: 'X-Atiru-Refresh', required: false, enum: [REFRESH_COOKIE_MODE], description: '`cookie`: take the refresh token from the `atiru_refresh` cookie' })
  @ApiOkResponse({ description: 'New tokens for the same session', type: SessionResponseDto, headers: SET_REFRESH_COOKIE })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: refresh_token is missing (and no cookie refresh was asked) or not a string', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({
    description: 'INVALID_OR_EXPIRED_TOKEN: the refresh token is unknown, expired, revoked or reused, or the cookie is missing (the cookie is then cleared)',
    type: ErrorResponseDto,
    headers: SET_REFRESH_COOKIE,
  })
  async refresh(@Body() body: SessionRefreshDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionResponseDto> {
    if (body.refresh_token !== undefined) return (await this.sessions.refresh(body.refresh_token)).response;
    if (!this.cookie.requested(request)) throw missingRefreshToken();
    return this.cookie.refresh(request, reply, (token) => this.sessions.refresh(token));
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
  @ApiNoContentResponse({ description: 'The sessions are revoked; unless the scope is `others`, the refresh cookie (if the browser has one) is cleared', headers: SET_REFRESH_COOKIE })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: scope is not local, others or global', type: ErrorResponseDto })
  async logout(@Req() { user: principal }: AuthenticatedRequest, @Query() query: SessionLogoutQueryDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const scope = query.scope ?? 'local';
    await this.sessions.logout(principal, scope);
    // The cookie is sent to /auth/refresh only, so logout cannot see it; it clears it blind, unless
    // the caller's own session lives on (`others`) and its browser must stay signed in.
    if (scope !== 'others') reply.header('set-cookie', this.cookie.clear());
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
