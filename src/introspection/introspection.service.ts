import { Injectable } from '@nestjs/common';
import { AppPassport } from '../auth/guards/app.passport';
import { scopeClaim } from '../api-keys/api-key-scopes';
import { Principal } from '../common/auth/principal';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { IntrospectionResponseDto } from './dto/introspection-response.dto';

/** Visible ASCII only: anything else is no credential of ours, and could not be a header value. */
const TOKEN = /^[\x21-\x7e]+$/;
const INACTIVE: Readonly<IntrospectionResponseDto> = Object.freeze({ active: false });

/**
 * Token introspection (RFC 7662) for Atiru's other services: is this JWT or API key live, and
 * whose is it? Decided exactly as the guard decides a request carrying the token as
 * `Authorization: Bearer`, through the same strategies and the same caches: a credential seen
 * before costs no database read, and a revocation heard by this instance is honoured at once.
 * A database outage is thrown (503), never answered as inactive.
 */
@Injectable()
export class IntrospectionService {
  private readonly vocabulary: readonly string[];

  constructor(
    private readonly passport: AppPassport,
    @InjectConfig() config: AppConfig,
  ) {
    this.vocabulary = config.apiKeys.scopes;
  }

  async introspect(token: string): Promise<IntrospectionResponseDto> {
    if (!TOKEN.test(token)) return INACTIVE;
    const request = { headers: { authorization: `Bearer ${token}` } };
    const principal = this.passport.fromMemory(request.headers) ?? (await this.passport.runChain(request, undefined)).principal;
    return principal === undefined ? INACTIVE : this.describe(principal);
  }

  private describe(principal: Principal): IntrospectionResponseDto {
    const answer: IntrospectionResponseDto = {
      active: true,
      sub: principal.user.id,
      scope: scopeClaim(principal.scopes, this.vocabulary),
      iat: principal.issued_at,
      token_type: principal.method === 'jwt' ? 'access_token' : 'api_key',
    };
    if (principal.expires_at !== undefined) answer.exp = principal.expires_at;
    return answer;
  }
}
