import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiRateLimitedResponse } from '../common/http/api-rate-limited-response.decorator';
import { RateLimitInterceptor } from './rate-limit.interceptor';
import { RATE_LIMIT_RULE, RateLimitRule } from './rate-limit.rule';

/**
 * Limits a route and documents its 429 in the OpenAPI document. The interceptor is attached to
 * the limited routes only: a global one would put Nest's interceptor chain (rxjs, async-hook
 * binding) on every request, the authenticated hot path included.
 *
 * `redirects`: the route is a browser's, whose filter answers every failure, a limit included,
 * with a redirect that its own responses document; it has no 429 to document.
 * `limited`: what the 429 means, when a client should know more than "too many requests".
 */
export const RateLimit = (rule: RateLimitRule, { redirects = false, limited = 'too many requests' }: { redirects?: boolean; limited?: string } = {}): MethodDecorator =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_RULE, rule),
    UseInterceptors(RateLimitInterceptor),
    ...(redirects ? [] : [ApiRateLimitedResponse(limited)]),
  );
