import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IntrospectionClientOnly } from '../common/auth/auth-policy.decorator';
import { ACCEPTS_FORM } from '../common/http/body-parsers';
import { IntrospectionRequestDto, readIntrospectionRequest } from './dto/introspection-request.dto';
import { IntrospectionResponseDto } from './dto/introspection-response.dto';
import { IntrospectionService } from './introspection.service';

@ApiTags('auth')
@Controller('auth')
export class IntrospectionController {
  constructor(private readonly introspection: IntrospectionService) {}

  @Post('introspect')
  @HttpCode(200)
  @IntrospectionClientOnly()
  @RouteConfig(ACCEPTS_FORM)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiOperation({
    summary: 'Introspect a JWT or an API key (RFC 7662)',
    description:
      "For Atiru's other services: whether a credential a caller presented is live, and for whom. Authenticate as a client of " +
      'INTROSPECTION_CLIENTS with HTTP Basic. A live access token or API key answers `active: true` with `sub`, `scope`, `exp`, `iat` ' +
      'and `token_type`; anything else (malformed, unknown, revoked, expired, a rolled key past its grace period) answers ' +
      '`{"active": false}`. Decided as the guard decides a request carrying the token, from the same caches.',
  })
  @ApiBody({ type: IntrospectionRequestDto, required: true })
  @ApiOkResponse({ description: 'What the token is, or `{"active": false}`', type: IntrospectionResponseDto })
  // The body is read with @Req() and checked by readIntrospectionRequest, not by @Body() and the global pipe (decision 014).
  introspectToken(@Req() request: { body?: unknown }): Promise<IntrospectionResponseDto> {
    return this.introspection.introspect(readIntrospectionRequest(request.body).token);
  }
}
