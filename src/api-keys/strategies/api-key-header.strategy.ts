import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { AuthStrategyRegistry } from '../../auth/guards/auth-strategy.registry';
import { Principal } from '../../common/auth/principal';
import { ApiKeyAuthenticator } from '../api-key-authenticator';

export const API_KEY_HEADER_STRATEGY = 'api-key-header';

/** An API key sent as `X-Api-Key: atiru_…`. */
@Injectable()
export class ApiKeyHeaderStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_HEADER_STRATEGY) {
  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    registry: AuthStrategyRegistry,
  ) {
    super({ header: 'X-Api-Key', prefix: '' }, false);
    registry.register(API_KEY_HEADER_STRATEGY, this);
  }

  async validate(value: string): Promise<Principal | false> {
    return (await this.authenticator.authenticate(value.trim())) ?? false;
  }
}
