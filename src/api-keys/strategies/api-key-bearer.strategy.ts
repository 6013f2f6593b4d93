import { Injectable } from '@nestjs/common';
import { looksLikeApiKey } from '../api-key-format';
import { ApiKeyStrategy } from './api-key.strategy';

export const API_KEY_BEARER_STRATEGY = 'api-key-bearer';

/** Anchored on the key prefix, so a JWT (`Bearer eyJ…`) is turned down at its first character. */
const BEARER = /^bearer +(atiru_\S+) *$/i;

/**
 * An API key sent as `Authorization: Bearer atiru_…`. The whole header is read, because the
 * scheme name is case-insensitive. A Bearer value that is not an `atiru_` key is a JWT's
 * business, not this strategy's: it fails, and the guard reports the JWT failure.
 */
@Injectable()
export class ApiKeyBearerStrategy extends ApiKeyStrategy(API_KEY_BEARER_STRATEGY, 'Authorization', (header) => {
  const value = BEARER.exec(header)?.[1];
  return value !== undefined && looksLikeApiKey(value) ? value : undefined;
}) {}
