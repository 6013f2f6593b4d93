import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiRateLimitedResponse } from '../common/http/api-rate-limited-response.decorator';
import { RateLimitInterceptor } from './rate-limit.interceptor';
import { RATE_LIMIT_RULE, RateLimitRule } from './rate-limit.rule';

/**
 * Limits a route and documents its 429 in the OpenAPI document. The interceptor is attached to
 * the limited routes only: a global one would put Nest's interceptor chain (rxjs, async-hook
 * binding) on every request, the authenticated hot path included.
 */
export const RateLimit = (rule: RateLimitRule): MethodDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_RULE, rule),
    UseInterceptors(RateLimitInterceptor),
    ApiRateLimitedResponse('too many requests'),
  );
