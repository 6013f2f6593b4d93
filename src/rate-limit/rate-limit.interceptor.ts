import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { catchError, from, Observable, switchMap, throwError } from 'rxjs';
import { AppConfig, RateLimitPolicyName } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { Principal } from '../common/auth/principal';
import { AppError } from '../common/errors/app-error';
import { toAppError } from '../common/errors/error-mapping';
import { isOpaqueTokenShaped } from '../common/auth/opaque-token';
import { REFRESH_COOKIE_HEADER } from '../common/auth/refresh-cookie-header';
import { inboxOf, normalizeEmail } from '../common/email-address';
import { clientKey } from './client-key';
import { RATE_LIMIT_RULE, RateLimitRule } from './rate-limit.rule';
import { rateLimitHeaders, RateLimiterService, RateLimitState } from './rate-limiter.service';

type Counter = [RateLimitPolicyName, string];

/**
 * A wrong password costs `failedLoginCost` units rather than one, so guessing runs out long before
 * honest use does. Nothing else is charged more for failing: the tokens the other rules see are
 * 256 random bits, which no number of attempts guesses.
 */
function isWrongPassword(rule: RateLimitRule, error: unknown): boolean {
  return rule === 'login' && error instanceof AppError && error.code === 'INVALID_CREDENTIALS';
}

/** A counter this request added to, and what the store answered. */
type Spent = [...Counter, RateLimitState];

/** Emails and tokens never reach the counter store in clear. */
function counterKey(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

/** The body's `email` in `form` (the address as accounts compare it, or its inbox), as a counter key. */
function emailKey(body: unknown, form: (email: string) => string = normalizeEmail): string | undefined {
  const email = (body as { email?: unknown } | undefined)?.email;
  if (typeof email !== 'string' || email.trim() === '') return undefined;
  return counterKey(form(email));
}

/** The presented `token`'s counter key, when `counted` takes it. */
function tokenKey(source: unknown, counted: (token: string) => boolean = (token) => token !== ''): string | undefined {
  const token = (source as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && counted(token) ? counterKey(token) : undefined;
}

/** A refresh token in the body, or the header that asks for the refresh cookie's. */
function presentsRefreshToken(request: FastifyRequest): boolean {
  const token = (request.body as { refresh_token?: unknown } | undefined)?.refresh_token;
  return typeof token === 'string' || request.headers[REFRESH_COOKIE_HEADER] !== undefined;
}

/** The user the guard has admitted, if any (it runs before interceptors). */
function signedInUser(request: FastifyRequest): Principal['user'] | undefined {
  return (request as FastifyRequest & { user?: Principal | null }).user?.user;
}

/** The signed-in user's address, when the guard has admitted one. */
function signedInEmailKey(request: FastifyRequest): string | undefined {
  const user = signedInUser(request);
  return user ? counterKey(user.email.toLowerCase()) : undefined;
}

/**
 * Spends the counters a route's `@RateLimit` rule names, before the handler runs, and gives them
 * back when the request fails for want of a dependency (503 SERVER_BUSY).
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiterService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rule = this.reflector.get<RateLimitRule | undefined>(RATE_LIMIT_RULE, context.getHandler());
    if (!rule) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const counters = this.counters(rule, request);
    const spent: Spent[] = [];

    return from(this.spend(counters, reply, spent)).pipe(
      switchMap(() => next.handle()),
      catchError((error) => {
        if (isWrongPassword(rule, error)) {
          const extra = this.config.failedLoginCost - 1;
          return from(Promise.all(counters.map(([policy, key]) => this.limiter.penalize(policy, key, extra)))).pipe(
            switchMap(() => throwError(() => error)),
          );
        }
        // A request a dependency could not serve is charged nothing: the retries that Retry-After: 1
        // invites during an outage would otherwise spend budgets meant to last an hour and lock
        // the client out once the outage is over.
        if (toAppError(error).appError.code === 'SERVER_BUSY') {
          return from(Promise.all(spent.map(([policy, key, state]) => this.limiter.giveBack(policy, key, state)))).pipe(
            switchMap(() => throwError(() => error)),
          );
        }
        return throwError(() => error);
      }),
    );
  }

  /**
   * The counters a request spends. One that presents nothing to check (no email, no token) guesses
   * nothing, and spends nothing: validation refuses it. Any web page can have its visitors'
   * browsers send such a request (a POST with no body and no header of its own needs no CORS
   * preflight); counted, it would spend the limits of everyone behind the visitor's address. What
   * a request must present to count can only be sent as JSON or in a header of the API's own,
   * which a page on another origin cannot send unless CORS lets it.
   */
  private counters(rule: RateLimitRule, request: FastifyRequest): Counter[] {
    const ip = clientKey(request.ip);
    switch (rule) {
      case 'login': {
        // A signed-in password check (changing the password) counts against the account it names.
        const email = emailKey(request.body) ?? signedInEmailKey(request);
        return email ? [['login_ip', ip], ['login_ip_email', `${ip}|${email}`]] : [];
      }
      case 'mail': {
        // Never per target address alone: anyone could then have the owner's own requests refused.
        // What one inbox receives is capped where its mail is decided (decision 029). Per inbox
        // here too, under any of its names, as the cap counts: one client's share of an inbox
        // stays below the cap, or a few sub-addresses would let it spend the owner's mail alone.
        const inbox = emailKey(request.body, inboxOf);
        return inbox ? [['mail_ip', ip], ['mail_ip_email', `${ip}|${inbox}`]] : [];
      }
      case 'refresh':
        return presentsRefreshToken(request) ? [['refresh_ip', ip]] : [];
      case 'reset': {
        const token = tokenKey(request.body);
        return token ? [['reset_ip', ip], ['reset_token', token]] : [];
      }
      case 'confirm':
        return tokenKey(request.body) ? [['confirm_ip', ip]] : [];
      case 'confirm_link': {
        // Never per client IP: any page can have a visitor's browser open links and post forms
        // here, which would spend the confirmations of everyone behind the visitor's address.
        // Only a value shaped like a mailed token: any other confirms nothing (the service refuses it,
        // as ever), so it spends no count and takes no place among them.
        const token = tokenKey(request.method === 'GET' ? request.query : request.body, isOpaqueTokenShaped);
        return token ? [['confirm_token', token]] : [];
      }
      case 'key_change': {
        const user = signedInUser(request);
        return user ? [['key_change_user', user.id]] : [];
      }
    }
  }

  /** Spends each counter in turn; `spent` gets those the store answered, which are all it surely added to. */
  private async spend(counters: Counter[], reply: FastifyReply, spent: Spent[]): Promise<void> {
    let tightest: RateLimitState | null = null;
    for (const [policy, key] of counters) {
      const state = await this.limiter.consume(policy, key);
      if (state) spent.push([policy, key, state]);
      if (state && (!tightest || state.remaining < tightest.remaining)) tightest = state;
    }
    if (tightest) reply.headers(rateLimitHeaders(tightest));
  }
}
