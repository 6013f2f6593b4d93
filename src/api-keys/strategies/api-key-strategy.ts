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
 * `extract` accepts: the guard does not run it on the others.
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
      registry.register(name, this, keyIn, (key) => this.fromMemory(key));
    }

    /** The principal of a key this instance knows, counted as a use of it. */
    fromMemory(key: string): Principal | undefined {
      return this.authenticator.authenticateFromMemory(key);
    }

    /**
     * passport calls this on a per-request copy that carries success/fail/error. A key this
     * instance knows succeeds here, synchronously; anything else goes through
     * passport-headerapikey, which reads the header and calls `validate`.
     */
    override authenticate(request: Parameters<HeaderAPIKeyStrategy['authenticate']>[0], options?: object): void {
      const key = keyIn((request as { headers: IncomingHttpHeaders }).headers);
      const principal = key === undefined ? undefined : this.fromMemory(key);
      if (principal !== undefined) return (this as unknown as { success(user: Principal): void }).success(principal);
      super.authenticate(request, options);
    }

    async validate(value: string): Promise<Principal | false> {
      const key = extract(value);
      if (key === undefined) return false;
      return (await this.authenticator.authenticate(key)) ?? false;
    }
  }
  return Strategy as Type<Strategy>;
}
