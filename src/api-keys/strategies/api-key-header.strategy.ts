import { Injectable } from '@nestjs/common';
import { ApiKeyStrategy } from './api-key.strategy';

export const API_KEY_HEADER_STRATEGY = 'api-key-header';

/** An API key sent as `X-Api-Key: atiru_…`. */
@Injectable()
export class ApiKeyHeaderStrategy extends ApiKeyStrategy(API_KEY_HEADER_STRATEGY, 'X-Api-Key', (value) => value.trim()) {}
