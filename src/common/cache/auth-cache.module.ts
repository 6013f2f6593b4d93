import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { MemoryBudget } from './memory.budget';

/** The one memory budget (AUTH_CACHE_MAX_MB) every credential cache of the instance draws on. */
@Global()
@Module({
  providers: [{ provide: MemoryBudget, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new MemoryBudget(config.cache.maxBytes) }],
  exports: [MemoryBudget],
})
export class AuthCacheModule {}
