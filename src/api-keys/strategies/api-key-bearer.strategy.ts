import { Injectable } from '@nestjs/common';
import { bearerCredential } from '../../common/auth/bearer';
import { looksLikeApiKey } from '../api-key-format';
import { ApiKeyStrategy } from './api-key.strategy';

export const API_KEY_BEARER_STRATEGY = 'api-key-bearer';

/**
 * An API key sent as `Authorization: Bearer atiru_…`. A Bearer value that is not an `atiru_` key
 * is a JWT's business, not this strategy's: it fails, and the guard reports the JWT failure.
 */
@Injectable()
export class ApiKeyBearerStrategy extends ApiKeyStrategy(API_KEY_BEARER_STRATEGY, 'Authorization', (header) => {
  const value = bearerCredential(header);
  return value !== undefined && looksLikeApiKey(value) ? value : undefined;
}) {}
