import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { AuthStrategyRegistry } from '../../auth/guards/auth-strategy.registry';
import { Principal } from '../../common/auth/principal';
import { ApiKeyAuthenticator } from '../api-key-authenticator';
import { looksLikeApiKey } from '../api-key-format';

export const API_KEY_BEARER_STRATEGY = 'api-key-bearer';

const BEARER = /^bearer +(\S+) *$/i;

/**
 * An API key sent as `Authorization: Bearer atiru_…`. The whole header is read (no library
 * prefix), because the scheme name is case-insensitive. A Bearer value that is not an `atiru_`
 * key is a JWT's business, not this strategy's: it fails, and the guard reports the JWT failure.
 */
@Injectable()
export class ApiKeyBearerStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_BEARER_STRATEGY) {
  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    registry: AuthStrategyRegistry,
  ) {
    super({ header: 'Authorization', prefix: '' }, false);
    registry.register(API_KEY_BEARER_STRATEGY, this);
  }

  async validate(header: string): Promise<Principal | false> {
    const value = BEARER.exec(header)?.[1];
    if (value === undefined || !looksLikeApiKey(value)) return false;
    return (await this.authenticator.authenticate(value)) ?? false;
  }
}
