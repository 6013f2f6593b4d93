import { Injectable, Type } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { AppliesTo, AuthStrategyRegistry } from '../../auth/guards/auth-strategy.registry';
import { Principal } from '../../common/auth/principal';
import { ApiKeyAuthenticator } from '../api-key-authenticator';

/**
 * A passport strategy (passport-headerapikey) that reads `header` whole, takes the key out of it
 * with `extract` (undefined: the value is not an API key, so the strategy fails), and registers
 * itself with this application's strategy registry under `name`, for the requests `appliesTo` accepts.
 */
export function ApiKeyStrategy(name: string, header: string, extract: (value: string) => string | undefined, appliesTo: AppliesTo) {
  @Injectable()
  class Strategy extends PassportStrategy(HeaderAPIKeyStrategy, name) {
    constructor(
      private readonly authenticator: ApiKeyAuthenticator,
      registry: AuthStrategyRegistry,
    ) {
      super({ header, prefix: '' }, false);
      registry.register(name, this, appliesTo);
    }

    async validate(value: string): Promise<Principal | false> {
      const key = extract(value);
      if (key === undefined) return false;
      return (await this.authenticator.authenticate(key)) ?? false;
    }
  }
  return Strategy as Type<Strategy>;
}
