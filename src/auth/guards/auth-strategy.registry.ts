import { Injectable } from '@nestjs/common';
import { Authenticator } from 'passport';
import type { Strategy } from 'passport';
import type { IncomingHttpHeaders } from 'node:http';

/** True when the request carries what the strategy reads (its header, in its form). */
export type AppliesTo = (headers: IncomingHttpHeaders) => boolean;

/**
 * This application's passport strategies, which the combined guard runs. Passport's default
 * registry is one per process, so two instances of the app in one process (the multi-instance
 * tests) would silently share the strategies of whichever started last. A strategy registers
 * itself in its constructor, after `super(...)`, saying which requests it can judge:
 * `constructor(registry: AuthStrategyRegistry) { super({...}); registry.register('api-key-header', this, hasApiKeyHeader); }`
 */
@Injectable()
export class AuthStrategyRegistry {
  readonly passport = new Authenticator();
  private readonly applicability = new Map<string, AppliesTo>();

  register(name: string, strategy: Strategy, appliesTo: AppliesTo): void {
    this.passport.use(name, strategy);
    this.applicability.set(name, appliesTo);
  }

  has(name: string): boolean {
    return this.applicability.has(name);
  }

  /**
   * Whether the strategy can judge this request at all. One that cannot would only fail, and
   * passport strategies fail with an `Error`, whose stack trace alone cost more than verifying a
   * cached credential: the guard skips them instead.
   */
  appliesTo(name: string, headers: IncomingHttpHeaders): boolean {
    return this.applicability.get(name)?.(headers) ?? false;
  }
}
