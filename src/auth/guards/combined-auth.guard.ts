import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { AUTH_POLICY, AuthPolicy } from '../../common/auth/auth-policy.decorator';
import { Principal } from '../../common/auth/principal';
import { AppError } from '../../common/errors/app-error';
import { isUnavailableError } from '../../common/errors/error-mapping';
import { AuthStrategyRegistry } from './auth-strategy.registry';

/**
 * The passport strategies tried in order; the first that succeeds sets the principal. Strategies
 * not registered in the AuthStrategyRegistry (the API-key ones before ApiKeysModule exists) are skipped.
 */
export const AUTH_STRATEGY_CHAIN = ['jwt', 'api-key-bearer', 'api-key-header'] as const;

export type AuthenticatedRequest = FastifyRequest & { user?: Principal };

/** `Bearer <credential>`, nothing else. */
const BEARER = /^Bearer[ \t]+[^\s]+[ \t]*$/i;

type ChainOutcome = { principal: Principal } | { principal?: undefined; reason: string };

/**
 * The one place where access is decided. Every route is protected unless it says `@Public()`;
 * `@Authenticated()` accepts a JWT or an API key, `@Authenticated({ jwtOnly: true })` a JWT only.
 * No credential (or a malformed Authorization header) is 401 MISSING_AUTH, a credential that fails
 * is 401 INVALID_OR_EXPIRED_TOKEN, an API key on a JWT-only route is 403 JWT_REQUIRED. Errors
 * raised by a strategy (a database outage) pass through untouched and become 503.
 */
@Injectable()
export class CombinedAuthGuard implements CanActivate {
  private readonly logger = new Logger(CombinedAuthGuard.name);
  /** Policies by handler: the metadata never changes after start. */
  private readonly policies = new Map<object, AuthPolicy>();
  /** Resolved on first use, when every module has registered its strategies. */
  private chain?: string[];

  constructor(
    private readonly reflector: Reflector,
    private readonly strategies: AuthStrategyRegistry,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.policyOf(context);
    if (policy === 'public') return true;

    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    if (!carriesCredential(request.headers)) {
      throw this.deny(request, AppError.missingAuth('Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>'), 'no credential');
    }
    const outcome = await this.runChain(request, http.getResponse<FastifyReply>());
    if (outcome.principal === undefined) throw this.deny(request, AppError.invalidToken(), outcome.reason);
    if (policy === 'jwt' && outcome.principal.method !== 'jwt') {
      throw this.deny(request, new AppError('JWT_REQUIRED', 'This operation requires a session access token (JWT); API keys cannot call it'), 'API key on a JWT-only route');
    }
    request.user = outcome.principal;
    return true;
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

  private runChain(request: AuthenticatedRequest, reply: FastifyReply): Promise<ChainOutcome> {
    const chain = (this.chain ??= AUTH_STRATEGY_CHAIN.filter((name) => this.strategies.has(name)));
    return new Promise((resolve, reject) => {
      const middleware = this.strategies.passport.authenticate(chain, { session: false }, (error: unknown, principal: Principal | false, challenges?: unknown[]) => {
        if (error) return reject(error);
        if (principal) return resolve({ principal });
        const failures = challenges ?? [];
        // A strategy that could not reach the database reports it as a failure (passport-jwt does
        // for its key lookup); that is an outage, not a bad credential.
        const outage = failures.find(isUnavailableError);
        if (outage) return reject(outage);
        resolve({ reason: failures.map((failure, index) => `${chain[index]}: ${describe(failure)}`).join('; ') || 'no strategy registered' });
      });
      middleware(request, reply, (error?: unknown) => (error ? reject(error) : resolve({ reason: 'no strategy decided' })));
    });
  }

  private deny(request: AuthenticatedRequest, error: AppError, reason: string): AppError {
    const path = request.url.split('?', 1)[0];
    this.logger.warn(`denied ${request.method} ${path}: ${error.code}`, { method: request.method, path, code: error.code, reason });
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

function describe(failure: unknown): string {
  if (failure === undefined || failure === null) return 'failed';
  if (typeof failure === 'string') return failure;
  const message = (failure as { message?: unknown }).message;
  return typeof message === 'string' ? message : 'failed';
}
