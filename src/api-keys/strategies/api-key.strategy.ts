import { Injectable, Type } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { AppPassport, MemoryFirstStrategy } from '../../auth/guards/app.passport';
import { Principal } from '../../common/auth/principal';
import { ApiKeyAuthenticator } from '../api-key.authenticator';

/**
 * A passport strategy (passport-headerapikey) that reads `header` whole and takes the key out of
 * it with `extract` (undefined: the value is not an API key, so the strategy fails). It adds
 * itself to the app's Passport under `name`. Memory first: a key this instance accepted before
 * is answered from the authenticator's memory by the guard, without running passport.
 */
export function ApiKeyStrategy(name: string, header: string, extract: (value: string) => string | undefined) {
  const headerName = header.toLowerCase();
  @Injectable()
  class Strategy extends PassportStrategy(HeaderAPIKeyStrategy, name) implements MemoryFirstStrategy {
    constructor(
      private readonly authenticator: ApiKeyAuthenticator,
      passport: AppPassport,
    ) {
      super({ header, prefix: '' }, false);
      passport.use(name, this);
    }

    credentialIn(headers: IncomingHttpHeaders): string | undefined {
      const value = headers[headerName];
      return typeof value === 'string' ? extract(value) : undefined;
    }

    fromMemory(key: string): Principal | undefined {
      return this.authenticator.authenticateFromMemory(key);
    }

    async validate(value: string): Promise<Principal | false> {
      const key = extract(value);
      if (key === undefined) return false;
      return (await this.authenticator.authenticate(key)) ?? false;
    }
  }
  return Strategy as Type<Strategy>;
}
