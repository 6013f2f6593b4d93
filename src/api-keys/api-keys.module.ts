import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { MemoryBudget } from '../common/cache/memory.budget';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { ApiKeyCache } from './api-key.cache';
import { ApiKeyRevocationListener } from './api-key-revocation.listener';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { GithubSignatureVerifier } from './leaks/github-signature.verifier';
import { LeakReportHeadersCheck } from './leaks/leak-report-headers.check';
import { LeakReportsController } from './leaks/leak-reports.controller';
import { LeakReportsService } from './leaks/leak-reports.service';
import { LeakedApiKeysRepository } from './leaks/leaked-api-keys.repository';
import { ApiKeyBearerStrategy } from './strategies/api-key-bearer.strategy';
import { ApiKeyUsageController } from './usage/api-key-usage.controller';
import { ApiKeyUsageRecorder } from './usage/api-key-usage.recorder';
import { ApiKeyUsageRepository } from './usage/api-key-usage.repository';
import { ApiKeyUsageService } from './usage/api-key-usage.service';
import { ApiKeyHeaderStrategy } from './strategies/api-key-header.strategy';
import { USER_API_KEYS } from './user-api-keys';

/** API keys: management endpoints, and the two strategies the global guard runs after the JWT one. */
@Module({
  imports: [MikroOrmModule.forFeature([ApiKeyEntity]), UsersModule, AuthModule, MailModule],
  controllers: [ApiKeysController, ApiKeyUsageController, LeakReportsController],
  providers: [
    { provide: ApiKeyCache, inject: [MemoryBudget], useFactory: (budget: MemoryBudget) => new ApiKeyCache(budget) },
    ApiKeysRepository,
    ApiKeysService,
    ApiKeyRevocationListener,
    ApiKeyUsageRepository,
    ApiKeyUsageRecorder,
    ApiKeyUsageService,
    GithubSignatureVerifier,
    LeakedApiKeysRepository,
    LeakReportsService,
    LeakReportHeadersCheck,
    ApiKeyAuthenticator,
    ApiKeyBearerStrategy,
    ApiKeyHeaderStrategy,
    // What other modules may do with a user's keys (a password reset revokes them).
    { provide: USER_API_KEYS, useExisting: ApiKeysService },
  ],
  // The cache and the listener for the metrics' gauges; USER_API_KEYS for the accounts module.
  exports: [ApiKeyCache, ApiKeyRevocationListener, USER_API_KEYS],
})
export class ApiKeysModule {}
