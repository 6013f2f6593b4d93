import { DynamicModule, Module, Type } from '@nestjs/common';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AccountsModule } from './accounts/accounts.module';
import { AuthCacheModule } from './common/cache/auth-cache.module';
import { AuthModule } from './auth/auth.module';
import { Clock } from './common/time/clock';
import { ClockModule } from './common/time/clock.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { IntrospectionModule } from './introspection/introspection.module';
import { MailModule } from './mail/mail.module';
import { MetricsModule } from './metrics/metrics.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule {
  /**
   * `extraModules` lets HTTP-edge tests mount probe routes behind the real pipe, guard and filter;
   * `clock`, tests that move time (a session's lifetime) without waiting for it.
   */
  static forRoot(config: AppConfig, extraModules: Type[] = [], clock?: Clock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        DatabaseModule,
        AuthCacheModule,
        RateLimitModule,
        HealthModule,
        UsersModule,
        MailModule,
        AuthModule,
        ApiKeysModule,
        AccountsModule,
        IntrospectionModule,
        MetricsModule,
        ...extraModules,
      ],
    };
  }
}
