import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/errors/error-response.dto';

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
    ApiResponse({
      status: 429,
      description: 'RATE_LIMITED: too many requests; retry after `Retry-After` seconds',
      type: ErrorResponseDto,
      headers: {
        'Retry-After': { description: 'Seconds until the limit resets', schema: { type: 'integer' } },
        'RateLimit-Limit': { description: 'Requests allowed in the window', schema: { type: 'integer' } },
        'RateLimit-Remaining': { description: 'Requests left in the window', schema: { type: 'integer' } },
        'RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
      },
    }),
  );
