import { CanActivate, ExecutionContext, Injectable, Logger, Optional, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { AUTH_POLICY, AUTH_SCOPES, AuthPolicy } from '../../common/auth/auth-policy.decorator';
import { bearerCredential } from '../../common/auth/bearer';
import { Principal } from '../../common/auth/principal';
import { defaultScopes, missingScope } from '../../common/auth/scopes';
import { AppError } from '../../common/errors/app-error';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service';
import { AppPassport, ChainOutcome } from './app.passport';
import { CredentialUses } from './credential.uses';
import { IntrospectionClients } from './introspection.clients';

/** The request on its way through the guard, which sets `user` when it lets it through. */
type GuardedRequest = FastifyRequest & { user?: Principal };

/** A route's policy and the scopes a limited API key needs for it, worked out once per handler. */
interface RoutePolicy {
  kind: AuthPolicy;
  scopes: readonly string[];
}

const CLIENT_CHALLENGE = { 'www-authenticate': 'Basic realm="atiru-introspection", charset="UTF-8"' };

/**
 * The one place where access is decided, in four steps:
 * 1. policy: every route is protected unless it says `@Public()`; `@Authenticated()` accepts a
 *    JWT or an API key, `@Authenticated({ jwtOnly: true })` a JWT only;
 * 2. credential: none (or a malformed Authorization header) is 401 MISSING_AUTH;
 * 3. principal: a credential this instance verified before is known from memory (the first
 *    strategy that reads it decides); any other goes through passport's `authenticate` with the
 *    strategy chain (on each credential in turn when a request carries both a Bearer value and an
 *    X-Api-Key: a refused Bearer value counts as a failed authentication even if the key passes);
 *    one that fails is 401 INVALID_OR_EXPIRED_TOKEN; an error raised by a strategy (a database
 *    outage) passes through untouched and becomes 503;
 * 4. admit: an API key limited to scopes without one the route needs is 403 INSUFFICIENT_SCOPE
 *    (a route's scopes: what it declares, else `read` for GET and HEAD and `write` for the rest);
 *    an API key on a JWT-only route is 403 JWT_REQUIRED; otherwise the use is counted
 *    (RateLimiterService) and `request.user` set. Either way the use of the verified credential
 *    is reported, admitted or refused, to CredentialUses (API-key usage statistics).
 * A route for other services (`@IntrospectionClientOnly()`) takes a client's HTTP Basic
 * credentials instead, and no user: wrong or none is 401 INVALID_CLIENT.
 * Blocking clients that fail too often and counting uses belong to the rate limiter; this guard
 * only tells it what happened.
 */
@Injectable()
export class CombinedAuthGuard implements CanActivate {
  private readonly logger = new Logger(CombinedAuthGuard.name);
  /** Policies by handler: the metadata never changes after start. */
  private readonly policies = new Map<object, RoutePolicy>();

  constructor(
    private readonly reflector: Reflector,
    private readonly passport: AppPassport,
    private readonly limiter: RateLimiterService,
    private readonly uses: CredentialUses,
    // Absent in an app without introspection: its client routes then admit no one.
    @Optional() private readonly clients?: IntrospectionClients,
  ) {}

  /** Synchronous for a credential seen before: no promise of its own on that path. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const policy = this.policyOf(context);
    if (policy.kind === 'public') return true;

    // The request and the reply are the handler's first two arguments over HTTP. Read by index:
    // switchToHttp() gives the context three new closures on every call.
    const request = context.getArgByIndex<GuardedRequest>(0);
    // A credential this instance verified before is no guess, so a client over the failed-
    // authentication limit still uses it: the block stops guessing, and those who share the
    // guesser's address (a NAT, a proxy, a CI fleet) keep working with what they hold. That goes
    // for the services that call introspection as much as for users.
    if (policy.kind === 'client') {
      if (this.clients?.fromMemory(request.headers.authorization) !== undefined) return true;
      this.limiter.refuseBlockedClient(request);
      return this.admitClient(request);
    }
    const known = this.passport.fromMemory(request.headers);
    if (known !== undefined) return this.admit(request, policy, known);
    this.limiter.refuseBlockedClient(request);
    if (!carriesCredential(request.headers)) {
      throw this.deny(request, AppError.missingAuth('Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>'), 'no credential');
    }
    return this.verify(request, context.getArgByIndex<FastifyReply>(1)).then((outcome) =>
      outcome.principal !== undefined ? this.admit(request, policy, outcome.principal) : this.refuse(request, outcome.reason),
    );
  }

  /**
   * passport's chain on the request's credential. A request that carries two (a Bearer value and
   * an X-Api-Key) has the chain run on each in turn, and the first that passes is admitted, as
   * the contract says; a Bearer value refused before a key passes is still a wrong guess, counted
   * against the client, or a good key of one's own would make guessing others' free.
   */
  private async verify(request: GuardedRequest, reply: FastifyReply): Promise<ChainOutcome> {
    const authorization = request.headers.authorization;
    const apiKey = request.headers['x-api-key'];
    if (bearerCredential(authorization) === undefined || !isPresent(apiKey)) return this.passport.runChain(request, reply);
    const bearer = await this.passport.runChain({ headers: { authorization } }, reply);
    if (bearer.principal !== undefined) return bearer;
    await this.limiter.countFailedAuthentication(request.ip);
    const key = await this.passport.runChain({ headers: { 'x-api-key': apiKey } }, reply);
    return key.principal !== undefined ? key : { reason: `${bearer.reason}; ${key.reason}` };
  }

  private admit(request: GuardedRequest, policy: RoutePolicy, principal: Principal): true {
    // Whatever refuses a verified credential here is reported as a refused use of it.
    try {
      // Only API keys carry scopes; checked before JWT_REQUIRED, so a limited key hears what limits it.
      if (principal.scopes !== undefined) {
        const missing = missingScope(principal.scopes, policy.scopes);
        if (missing !== undefined) {
          throw this.deny(request, new AppError('INSUFFICIENT_SCOPE', `This API key is limited to scopes without "${missing}", which this operation needs`), `API key without scope ${missing}`);
        }
      }
      if (policy.kind === 'jwt' && principal.method !== 'jwt') {
        throw this.deny(request, new AppError('JWT_REQUIRED', 'This operation requires a session access token (JWT); API keys cannot call it'), 'API key on a JWT-only route');
      }
      this.limiter.countUse(principal);
    } catch (error) {
      this.uses.refused(principal, request);
      throw error;
    }
    this.uses.admitted(principal, request);
    request.user = principal;
    return true;
  }

  private async refuse(request: GuardedRequest, reason: string): Promise<never> {
    await this.limiter.countFailedAuthentication(request.ip);
    throw this.deny(request, AppError.invalidToken(), reason);
  }

  /** A service client's HTTP Basic credentials; a wrong guess counts against the address like a bad token. */
  private admitClient(request: GuardedRequest): true | Promise<never> {
    if (this.clients?.verify(request.headers.authorization) !== undefined) return true;
    const error = new AppError('INVALID_CLIENT', 'Introspection needs the HTTP Basic credentials of a client in INTROSPECTION_CLIENTS', CLIENT_CHALLENGE);
    if (request.headers.authorization === undefined) throw this.deny(request, error, 'no client credentials');
    return this.limiter.countFailedAuthentication(request.ip).then(() => {
      throw this.deny(request, error, 'wrong client credentials');
    });
  }

  private policyOf(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    let policy = this.policies.get(handler);
    if (policy === undefined) {
      const targets = [handler, context.getClass()];
      // Routes that declare nothing are protected: a JWT or an API key.
      const kind = this.reflector.getAllAndOverride<AuthPolicy | undefined>(AUTH_POLICY, targets) ?? 'any';
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod] ?? 'POST';
      const scopes = this.reflector.getAllAndOverride<readonly string[] | undefined>(AUTH_SCOPES, targets) ?? defaultScopes(method);
      policy = { kind, scopes };
      this.policies.set(handler, policy);
    }
    return policy;
  }

  /** Logs a denial at warn, with the client's address and never anything of the credential. */
  private deny(request: GuardedRequest, error: AppError, reason: string): AppError {
    const path = request.url.split('?', 1)[0];
    this.logger.warn(`denied ${request.method} ${path}: ${error.code}`, {
      request_id: request.id,
      ip: request.ip,
      method: request.method,
      path,
      code: error.code,
      reason,
    });
    return error;
  }
}

/** True when the request carries something that may be a credential: a Bearer value or an X-Api-Key. */
export function carriesCredential(headers: IncomingHttpHeaders): boolean {
  return bearerCredential(headers.authorization) !== undefined || isPresent(headers['x-api-key']);
}

/** An X-Api-Key header with something in it. */
function isPresent(apiKey: string | string[] | undefined): apiKey is string {
  return typeof apiKey === 'string' && apiKey.trim() !== '';
}
