import { Injectable } from '@nestjs/common';
import { Passport } from 'passport';
import type { Strategy } from 'passport';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../../common/auth/principal';

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

  use(name: string, strategy: Strategy & MemoryFirstStrategy): void {
    this.passport.use(name, strategy);
    this.strategies.set(name, strategy);
  }

  /** The memory-first side of a registered strategy. */
  strategy(name: string): MemoryFirstStrategy | undefined {
    return this.strategies.get(name);
  }

  /**
   * passport's `authenticate(names, options, callback)` middleware, on this app's strategies:
   * tries them in order on a per-request copy of each until one succeeds.
   */
  authenticate(names: string[], callback: (error: unknown, user?: unknown, challenges?: unknown) => void) {
    return this.passport.authenticate(names, { session: false }, callback) as (request: unknown, response: unknown, next: (error?: unknown) => void) => void;
  }
}
