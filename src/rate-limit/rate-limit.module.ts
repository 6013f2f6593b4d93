import { Global, Module } from '@nestjs/common';
import { RateLimitInterceptor } from './rate-limit.interceptor';
import { RateLimiterService } from './rate-limiter.service';

@Global()
@Module({
  providers: [RateLimiterService, RateLimitInterceptor],
  exports: [RateLimiterService, RateLimitInterceptor],
})
export class RateLimitModule {}
