import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { AUTH_POLICY, AuthPolicy } from '../../common/auth/auth-policy.decorator';
import { Principal } from '../../common/auth/principal';
import { AppError } from '../../common/errors/app-error';
import { isUnavailableError } from '../../common/errors/error-mapping';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service';
import { AppPassport, MemoryFirstStrategy } from './app-passport';
import { CredentialUses } from './credential-uses';

/**
 * The passport strategies tried in order; the first that succeeds sets the principal. A strategy
 * not registered (the API-key ones in an app without ApiKeysModule) is left out.
 */
export const AUTH_STRATEGY_CHAIN = ['jwt', 'api-key-bearer', 'api-key-header'] as const;

/** The request on its way through the guard, which sets `user` when it lets it through. */
type GuardedRequest = FastifyRequest & { user?: Principal };

/** `Bearer <credential>`, the scheme in any case (RFC 9110 §11.1), nothing else. */
const BEARER = /^Bearer[ \t]+[^\s]+[ \t]*$/i;

/** How the strategy chain ended: a principal, or the reasons every strategy gave. */
type ChainOutcome = { principal: Principal } | { principal?: undefined; reason: string };

/**
 * The one place where access is decided, in four steps:
 * 1. policy: every route is protected unless it says `@Public()`; `@Authenticated()` accepts a
 *    JWT or an API key, `@Authenticated({ jwtOnly: true })` a JWT only;
 * 2. credential: none (or a malformed Authorization header) is 401 MISSING_AUTH;
 * 3. principal: a credential this instance verified before is known from memory (the first
 *    strategy that reads it decides); any other goes through passport's `authenticate` with the
 *    strategy chain; one that fails is 401 INVALID_OR_EXPIRED_TOKEN; an error raised by a strategy
 *    (a database outage) passes through untouched and becomes 503;
 * 4. admit: an API key on a JWT-only route is 403 JWT_REQUIRED; otherwise the use is counted
 *    (RateLimiterService) and `request.user` set. Either way the use of the verified credential
 *    is reported, admitted or refused, to CredentialUses (API-key usage statistics).
 * Blocking clients that fail too often and counting uses belong to the rate limiter; this guard
 * only tells it what happened.
 */
@Injectable()
export class CombinedAuthGuard implements CanActivate {
  private readonly logger = new Logger(CombinedAuthGuard.name);
  /** Policies by handler: the metadata never changes after start. */
  private readonly policies = new Map<object, AuthPolicy>();
  /** The chain's registered strategies, resolved on first use, when every module has added its own. */
  private chain?: { names: string[]; strategies: MemoryFirstStrategy[] };

  constructor(
    private readonly reflector: Reflector,
    private readonly passport: AppPassport,
    private readonly limiter: RateLimiterService,
    private readonly uses: CredentialUses,
  ) {}

  /** Synchronous for a credential seen before: no promise of its own on that path. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const policy = this.policyOf(context);
    if (policy === 'public') return true;

    const http = context.switchToHttp();
    const request = http.getRequest<GuardedRequest>();
    this.limiter.refuseBlockedClient(request.ip);
    const known = this.fromMemory(request.headers);
    if (known !== undefined) return this.admit(request, policy, known);
    if (!carriesCredential(request.headers)) {
      throw this.deny(request, AppError.missingAuth('Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>'), 'no credential');
    }
    return this.runChain(request, http.getResponse<FastifyReply>()).then((outcome) =>
      outcome.principal !== undefined ? this.admit(request, policy, outcome.principal) : this.refuse(request, outcome.reason),
    );
  }

  private admit(request: GuardedRequest, policy: AuthPolicy, principal: Principal): true {
    // Whatever refuses a verified credential here is reported as a refused use of it.
    try {
      if (policy === 'jwt' && principal.method !== 'jwt') {
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

  /**
   * The memory-first shortcut: the verdict from memory of the first strategy that reads a
   * credential in the request. That strategy would run first, and the first success wins anyway;
   * a later strategy's memory is not asked before the first has run.
   */
  private fromMemory(headers: IncomingHttpHeaders): Principal | undefined {
    for (const strategy of this.registered().strategies) {
      const credential = strategy.credentialIn(headers);
      if (credential !== undefined) return strategy.fromMemory(credential);
    }
    return undefined;
  }

  /** passport's `authenticate` with the strategy chain, as a promise of its outcome. */
  private runChain(request: GuardedRequest, reply: FastifyReply): Promise<ChainOutcome> {
    const { names } = this.registered();
    return new Promise((resolve, reject) => {
      const authenticate = this.passport.authenticate(names, (error, user, challenges) => {
        if (error) return reject(error);
        if (user) return resolve({ principal: user as Principal });
        const failures = Array.isArray(challenges) ? challenges : [challenges];
        // A strategy that could not reach the database reports it as a failure (passport-jwt does
        // for its key lookup); that is an outage, not a bad credential.
        const outage = failures.find(isUnavailableError);
        if (outage) return reject(outage);
        resolve({ reason: failures.map((failure, index) => `${names[index]}: ${describe(failure)}`).join('; ') });
      });
      // `next` is only called by a strategy that passes, which none of the chain does.
      authenticate(request, reply, (error) => (error ? reject(error) : resolve({ reason: 'no strategy decided' })));
    });
  }

  private registered(): { names: string[]; strategies: MemoryFirstStrategy[] } {
    if (this.chain === undefined) {
      const names = AUTH_STRATEGY_CHAIN.filter((name) => this.passport.strategy(name) !== undefined);
      this.chain = { names, strategies: names.map((name) => this.passport.strategy(name)!) };
    }
    return this.chain;
  }

  private policyOf(context: ExecutionContext): AuthPolicy {
    const handler = context.getHandler();
    let policy = this.policies.get(handler);
    if (policy === undefined) {
      // Routes that declare nothing are protected: a JWT or an API key.
      policy = this.reflector.getAllAndOverride<AuthPolicy | undefined>(AUTH_POLICY, [handler, context.getClass()]) ?? 'any';
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
  const authorization = headers.authorization;
  if (authorization !== undefined && BEARER.test(authorization)) return true;
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() !== '';
}

/** A strategy's failure, as the deny log says it: passport strategies fail with an Error or an info object. */
function describe(failure: unknown): string {
  if (failure === undefined || failure === null) return 'failed';
  if (typeof failure === 'string') return failure;
  const message = (failure as { message?: unknown }).message;
  return typeof message === 'string' ? message : 'failed';
}
