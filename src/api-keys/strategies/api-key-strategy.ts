import { Injectable, Type } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { AuthStrategyRegistry } from '../../auth/guards/auth-strategy.registry';
import { Principal } from '../../common/auth/principal';
import { ApiKeyAuthenticator } from '../api-key-authenticator';

/**
 * A passport strategy (passport-headerapikey) that reads `header` whole, takes the key out of it
 * with `extract` (undefined: the value is not an API key, so the strategy fails), and registers
 * itself with this application's strategy registry under `name`, for the requests whose header
 * `extract` accepts: the guard does not run it on the others. A key this instance knows is
 * decided by the guard from the authenticator's memory, without running the strategy.
 */
export function ApiKeyStrategy(name: string, header: string, extract: (value: string) => string | undefined) {
  const headerName = header.toLowerCase();
  const keyIn = (headers: IncomingHttpHeaders): string | undefined => {
    const value = headers[headerName];
    return typeof value === 'string' ? extract(value) : undefined;
  };
  @Injectable()
  class Strategy extends PassportStrategy(HeaderAPIKeyStrategy, name) {
    constructor(
      private readonly authenticator: ApiKeyAuthenticator,
      registry: AuthStrategyRegistry,
    ) {
      super({ header, prefix: '' }, false);
      registry.register(name, this, keyIn, (key) => authenticator.authenticateFromMemory(key));
    }

    async validate(value: string): Promise<Principal | false> {
      const key = extract(value);
      if (key === undefined) return false;
      return (await this.authenticator.authenticate(key)) ?? false;
    }
  }
  return Strategy as Type<Strategy>;
}
