import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { REFRESH_COOKIE_HEADER, REFRESH_COOKIE_MODE } from '../../common/auth/refresh-cookie-header';
import { SessionResponseDto } from './dto/session-response.dto';
import { IssuedSession } from './session.mapper';

export const REFRESH_COOKIE_NAME = 'atiru_refresh';
/** The only path the browser sends the cookie to: no other request of the page carries it. */
export const REFRESH_COOKIE_PATH = '/auth/refresh';

/** Where the browser keeps the refresh token when the built-in dashboard asks: decision 012. */
@Injectable()
export class RefreshCookie {
  private readonly attributes: string;

  constructor(@InjectConfig() config: AppConfig) {
    // A browser drops a Secure cookie set over plain HTTP, except for localhost; so the service
    // answered on http://localhost during development is the one place it goes without.
    const secure = !/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/|$)/.test(config.http.publicUrl);
    this.attributes = `Path=${REFRESH_COOKIE_PATH}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  /**
   * The `Set-Cookie` value that stores `token` for `maxAgeSeconds`, as long as the token itself
   * lives: near the session's maximum lifetime that is less than REFRESH_TOKEN_TTL_SECONDS, and a
   * browser that kept the cookie longer would only send a token the service refuses.
   */
  set(token: string, maxAgeSeconds: number): string {
    return `${REFRESH_COOKIE_NAME}=${token}; Max-Age=${maxAgeSeconds}; ${this.attributes}`;
  }

  /** The `Set-Cookie` value that removes the cookie. */
  clear(): string {
    return `${REFRESH_COOKIE_NAME}=; Max-Age=0; ${this.attributes}`;
  }

  /** The refresh token the request's cookie carries, if any. */
  read(request: FastifyRequest): string | undefined {
    const header = request.headers.cookie;
    if (!header) return undefined;
    for (const pair of header.split(';')) {
      const separator = pair.indexOf('=');
      if (separator > 0 && pair.slice(0, separator).trim() === REFRESH_COOKIE_NAME) {
        const value = pair.slice(separator + 1).trim();
        return value === '' ? undefined : value;
      }
    }
    return undefined;
  }

  /** Whether a refresh asks for the cookie rather than a body token. */
  requested(request: FastifyRequest): boolean {
    return request.headers[REFRESH_COOKIE_HEADER] === REFRESH_COOKIE_MODE;
  }

  /** Moves the refresh token of a session answer into the cookie: the page's script never sees it. */
  hand({ response, refreshExpiresIn }: IssuedSession, reply: FastifyReply): SessionResponseDto {
    const { refresh_token: token, ...tokens } = response.session;
    if (token !== undefined) reply.header('set-cookie', this.set(token, refreshExpiresIn));
    return { ...response, session: tokens };
  }

  /**
   * Refreshes with the cookie's token and hands the new one back the same way. A missing, unknown,
   * expired or reused token clears the cookie, so a signed-out browser keeps nothing.
   */
  async refresh(request: FastifyRequest, reply: FastifyReply, refresh: (token: string) => Promise<IssuedSession>): Promise<SessionResponseDto> {
    const presented = this.read(request);
    try {
      if (presented === undefined) throw AppError.invalidToken('Invalid or expired refresh token');
      return this.hand(await refresh(presented), reply);
    } catch (error) {
      if (error instanceof AppError && error.code === 'INVALID_OR_EXPIRED_TOKEN') {
        throw new AppError(error.code, error.message, { ...error.headers, 'set-cookie': this.clear() });
      }
      throw error;
    }
  }
}
