import { Injectable } from '@nestjs/common';
import { Passport } from 'passport';
import type { Strategy } from 'passport';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../../common/auth/principal';
import { isUnavailableError } from '../../common/errors/error-mapping';

/**
 * The passport strategies tried in order; the first that succeeds sets the principal. A strategy
 * not registered (the API-key ones in an app without ApiKeysModule) is left out.
 */
export const AUTH_STRATEGY_CHAIN = ['jwt', 'api-key-bearer', 'api-key-header'] as const;

/** How the strategy chain ended: a principal, or the reasons every strategy gave. */
export type ChainOutcome = { principal: Principal } | { principal?: undefined; reason: string };

/**
 * What a strategy of the chain offers besides passport's `authenticate`: the credential it would
 * verify, read from its header (undefined when the request carries none of its kind), and its
 * verdict from memory on a credential it has verified before (undefined when only running the
 * strategy can tell).
 */
export interface MemoryFirstStrategy {
  credentialIn(headers: IncomingHttpHeaders): string | undefined;
  fromMemory(credential: string): Principal | undefined;
}

/**
 * This application's own Passport (passport's `Authenticator`), with the strategies of its
 * chain. Passport's default instance is one per process, so two instances of the app in one
 * process (the multi-instance tests) would share the strategies, and so the caches, of whichever
 * was built last; here each app authenticates with its own strategies. A strategy adds itself in
 * its constructor, after `super(...)`: `passport.use(JWT_STRATEGY, this)`.
 *
 * (`PassportStrategy` from @nestjs/passport also registers each strategy with the default
 * instance; nothing in this service authenticates through that one.)
 */
@Injectable()
export class AppPassport {
  private readonly passport = new Passport();
  private readonly strategies = new Map<string, MemoryFirstStrategy>();
  /** The chain's registered strategies, resolved on first use, when every module has added its own. */
  private chain?: { names: string[]; strategies: MemoryFirstStrategy[] };

  use(name: string, strategy: Strategy & MemoryFirstStrategy): void {
    this.passport.use(name, strategy);
    this.strategies.set(name, strategy);
  }

  /** The memory-first side of a registered strategy. */
  strategy(name: string): MemoryFirstStrategy | undefined {
    return this.strategies.get(name);
  }

  /**
   * The memory-first shortcut: the verdict from memory of the first strategy of the chain that
   * reads a credential in `headers`. That strategy would run first, and the first success wins
   * anyway; a later strategy's memory is not asked before the first has run.
   */
  fromMemory(headers: IncomingHttpHeaders): Principal | undefined {
    for (const strategy of this.registered().strategies) {
      const credential = strategy.credentialIn(headers);
      if (credential !== undefined) return strategy.fromMemory(credential);
    }
    return undefined;
  }

  /**
   * passport's `authenticate` with the strategy chain, as a promise of its outcome. A strategy's
   * error (a database outage) rejects: it is a 503, not a bad credential.
   */
  runChain(request: { headers: IncomingHttpHeaders }, reply: unknown): Promise<ChainOutcome> {
    const { names } = this.registered();
    return new Promise((resolve, reject) => {
      const authenticate = this.authenticate(names, (error, user, challenges) => {
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
      const names = AUTH_STRATEGY_CHAIN.filter((name) => this.strategies.has(name));
      this.chain = { names, strategies: names.map((name) => this.strategies.get(name)!) };
    }
    return this.chain;
  }

  /**
   * passport's `authenticate(names, options, callback)` middleware, on this app's strategies:
   * tries them in order on a per-request copy of each until one succeeds.
   */
  authenticate(names: string[], callback: (error: unknown, user?: unknown, challenges?: unknown) => void) {
    return this.passport.authenticate(names, { session: false }, callback) as (request: unknown, response: unknown, next: (error?: unknown) => void) => void;
  }
}

/** A strategy's failure, as the deny log says it: passport strategies fail with an Error or an info object. */
function describe(failure: unknown): string {
  if (failure === undefined || failure === null) return 'failed';
  if (typeof failure === 'string') return failure;
  const message = (failure as { message?: unknown }).message;
  return typeof message === 'string' ? message : 'failed';
}
