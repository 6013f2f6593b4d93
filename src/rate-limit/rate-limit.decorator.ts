import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiRateLimitedResponse } from '../common/http/api-rate-limited-response.decorator';

export const RATE_LIMIT_RULE = 'atiru:rate-limit-rule';

/**
 * Which counters a route spends:
 * `login`: per client IP and per (IP, email), failures cost more;
 * `mail`: per client IP and per target email (register, resend-confirmation, forgot-password);
 * `refresh`: per client IP.
 */
export type RateLimitRule = 'login' | 'mail' | 'refresh';

/** Limits a route and documents its 429 in the OpenAPI document. */
export const RateLimit = (rule: RateLimitRule): MethodDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_RULE, rule),
    ApiRateLimitedResponse('too many requests'),
  );
