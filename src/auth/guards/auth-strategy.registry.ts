import { Injectable } from '@nestjs/common';
import { Authenticator } from 'passport';
import type { Strategy } from 'passport';

/**
 * This application's passport strategies, which the combined guard runs. Passport's default
 * registry is one per process, so two instances of the app in one process (the multi-instance
 * tests) would silently share the strategies of whichever started last. A strategy registers
 * itself in its constructor, after `super(...)`:
 * `constructor(registry: AuthStrategyRegistry) { super({...}); registry.register('api-key-header', this); }`
 */
@Injectable()
export class AuthStrategyRegistry {
  readonly passport = new Authenticator();

  register(name: string, strategy: Strategy): void {
    this.passport.use(name, strategy);
  }

  has(name: string): boolean {
    return (this.passport as unknown as { _strategy(name: string): Strategy | undefined })._strategy(name) !== undefined;
  }
}
