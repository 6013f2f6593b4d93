import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { AUTH_POLICY, AuthPolicy } from '../../common/auth/auth-policy.decorator';
import { Principal } from '../../common/auth/principal';
import { AppError } from '../../common/errors/app-error';
import { isUnavailableError } from '../../common/errors/error-mapping';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service';
import { AuthStrategyRegistry } from './auth-strategy.registry';

/**
 * The passport strategies tried in order; the first that succeeds sets the principal. Strategies
 * not registered in the AuthStrategyRegistry (the API-key ones before ApiKeysModule exists), and
 * those that say the request carries nothing they read, are skipped.
 */
export const AUTH_STRATEGY_CHAIN = ['jwt', 'api-key-bearer', 'api-key-header'] as const;

/** The request on its way through the guard, which sets `user` when it lets it through. */
type GuardedRequest = FastifyRequest & { user?: Principal };

/** Bound of the local block list; clearing it only costs a few extra verifications. */
const MAX_BLOCKED_CLIENTS = 100_000;

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
  private registered?: string[];

  /** Client IPs over the failed-authentication limit, and until when (ms): refused before any work. */
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    private readonly reflector: Reflector,
    private readonly strategies: AuthStrategyRegistry,
    private readonly limiter: RateLimiterService,
  ) {}

  /**
   * Synchronous when every answer is in memory (a credential seen before, in-memory rate
   * limits): the hot path creates no promise of its own, and parses the credential once.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const policy = this.policyOf(context);
    if (policy === 'public') return true;

    // The HTTP request, as switchToHttp().getRequest() answers it, without the three closures
    // that switchToHttp() makes on every call.
    const request = context.getArgByIndex<GuardedRequest>(0);
    this.refuseBlockedClient(request);
    const known = this.fromMemory(request);
    if (known !== undefined) return this.admit(request, policy, { principal: known });
    if (!carriesCredential(request.headers)) {
      throw this.deny(request, AppError.missingAuth('Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>'), 'no credential');
    }
    const outcome = this.runChain(request);
    return outcome instanceof Promise ? outcome.then((settled) => this.admit(request, policy, settled)) : this.admit(request, policy, outcome);
  }

  /**
   * Admits the request at once when memory alone decides it: a credential seen before, from a
   * client that is not blocked, meeting `policy`, with its uses counted in memory. Then
   * `request.user` is set and the principal returned, with the effects canActivate has on the
   * same request. Otherwise undefined, having done nothing: only canActivate can decide. Throws
   * RATE_LIMITED, as canActivate does, when a use is over its limit.
   */
  admitAtOnce(request: GuardedRequest, policy: Exclude<AuthPolicy, 'public'>): Principal | undefined {
    if (this.blockedUntil.size > 0 && this.blockedUntil.has(request.ip)) return undefined;
    if (!this.limiter.countsInMemory) return undefined;
    const principal = this.fromMemory(request);
    if (principal === undefined || (policy === 'jwt' && principal.method !== 'jwt')) return undefined;
    // With the counts in memory, admit decides here and now (true), or throws.
    this.admit(request, policy, { principal });
    return principal;
  }

  private admit(request: GuardedRequest, policy: AuthPolicy, outcome: ChainOutcome): boolean | Promise<boolean> {
    if (outcome.principal === undefined) {
      return this.countFailure(request.ip).then(() => {
        throw this.deny(request, AppError.invalidToken(), outcome.reason);
      });
    }
    const principal = outcome.principal;
    if (policy === 'jwt' && principal.method !== 'jwt') {
      throw this.deny(request, new AppError('JWT_REQUIRED', 'This operation requires a session access token (JWT); API keys cannot call it'), 'API key on a JWT-only route');
    }
    const counted = this.countUse(principal);
    request.user = principal;
    return counted === undefined ? true : counted.then(() => true);
  }

  /**
   * Failed authentications are counted per client IP (shared across instances when Redis is
   * configured); once an IP is over the limit this instance refuses it before any other work,
   * until the window ends, so keys and tokens cannot be guessed at speed.
   */
  private refuseBlockedClient(request: GuardedRequest): void {
    if (this.blockedUntil.size === 0) return;
    const ip = request.ip;
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return;
    const left = until - Date.now();
    if (left <= 0) {
      this.blockedUntil.delete(ip);
      return;
    }
    const seconds = String(Math.ceil(left / 1000));
    throw new AppError('RATE_LIMITED', `Too many failed authentications, retry in ${seconds} s`, { 'retry-after': seconds });
  }

  private async countFailure(ip: string): Promise<void> {
    try {
      await this.limiter.consume('auth_failure_ip', ip);
    } catch (error) {
      if (error instanceof AppError && error.code === 'RATE_LIMITED') {
        if (this.blockedUntil.size >= MAX_BLOCKED_CLIENTS) this.blockedUntil.clear();
        this.blockedUntil.set(ip, Date.now() + Number(error.headers['retry-after']) * 1000);
      }
      throw error;
    }
  }

  /**
   * Authenticated traffic per API key and per user: counted in memory on the hot path (no
   * promise), or in Redis when the store is shared. Throws or rejects with RATE_LIMITED.
   */
  private countUse(principal: Principal): Promise<void> | undefined {
    const keyId = principal.api_key_id;
    if (keyId !== undefined && !this.limiter.consumeInMemory('api_key', keyId)) {
      return this.limiter.consume('api_key', keyId).then(() => this.countUserUse(principal.user.id));
    }
    return this.countUserUse(principal.user.id);
  }

  private countUserUse(userId: string): Promise<void> | undefined {
    if (this.limiter.consumeInMemory('user', userId)) return undefined;
    return this.limiter.consume('user', userId).then(() => undefined);
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

  /**
   * The verdict from memory of the first strategy that can read the credential, if it has one.
   * That strategy would run first, and the first success wins anyway: its memory decides alone.
   * A later strategy's memory is not asked before the first has run.
   */
  private fromMemory(request: GuardedRequest): Principal | undefined {
    for (const name of this.registeredChain()) {
      const credential = this.strategies.read(name, request.headers);
      if (credential !== undefined) return this.strategies.fromMemory(name, credential);
    }
    return undefined;
  }

  /**
   * Runs the strategies that can read the credential (AuthStrategyRegistry.run). A strategy that
   * decides synchronously settles the outcome before `run` returns, and no promise is made;
   * otherwise the outcome comes later, through the promise returned.
   */
  private runChain(request: GuardedRequest): ChainOutcome | Promise<ChainOutcome> {
    const chain = this.registeredChain().filter((name) => this.strategies.read(name, request.headers) !== undefined);
    if (chain.length === 0) return { reason: 'no strategy reads a credential of this form' };

    let settled: { outcome: ChainOutcome } | { error: unknown } | undefined;
    let later: { resolve(outcome: ChainOutcome): void; reject(error: unknown): void } | undefined;
    const settle = (result: { outcome: ChainOutcome } | { error: unknown }) => {
      if (settled !== undefined) return;
      settled = result;
      if (later === undefined) return;
      if ('outcome' in result) later.resolve(result.outcome);
      else later.reject(result.error);
    };
    this.strategies.run(chain, request, {
      success: (principal) => settle({ outcome: { principal: principal as Principal } }),
      fail: (failures) => {
        // A strategy that could not reach the database reports it as a failure (passport-jwt does
        // for its key lookup); that is an outage, not a bad credential.
        const outage = failures.find(isUnavailableError);
        if (outage) return settle({ error: outage });
        settle({ outcome: { reason: failures.map((failure, index) => `${chain[index]}: ${describe(failure)}`).join('; ') || 'no strategy decided' } });
      },
      error: (error) => settle({ error }),
    });

    if (settled === undefined) return new Promise((resolve, reject) => (later = { resolve, reject }));
    if ('outcome' in settled) return settled.outcome;
    throw settled.error;
  }

  /** The chain's strategies that are registered, resolved on first use, when every module has registered its own. */
  private registeredChain(): readonly string[] {
    return (this.registered ??= AUTH_STRATEGY_CHAIN.filter((name) => this.strategies.has(name)));
  }

  private deny(request: GuardedRequest, error: AppError, reason: string): AppError {
    const path = request.url.split('?', 1)[0];
    this.logger.warn(`denied ${request.method} ${path}: ${error.code}`, { request_id: request.id, method: request.method, path, code: error.code, reason });
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
