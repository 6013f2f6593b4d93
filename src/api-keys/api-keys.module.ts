import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { MemoryBudget } from '../common/cache/memory-budget';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyCache } from './api-key-cache';
import { ApiKeyLastUsedRecorder } from './api-key-last-used.recorder';
import { ApiKeyRevocationListener } from './api-key-revocation.listener';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-key.repository';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyBearerStrategy } from './strategies/api-key-bearer.strategy';
import { ApiKeyHeaderStrategy } from './strategies/api-key-header.strategy';

/** API keys: management endpoints, and the two strategies the global guard runs after the JWT one. */
@Module({
  imports: [MikroOrmModule.forFeature([ApiKeyEntity]), UsersModule, AuthModule, MailModule],
  controllers: [ApiKeysController],
  providers: [
    { provide: ApiKeyCache, inject: [MemoryBudget], useFactory: (budget: MemoryBudget) => new ApiKeyCache(budget) },
    ApiKeysRepository,
    ApiKeysService,
    ApiKeyRevocationListener,
    ApiKeyLastUsedRecorder,
    ApiKeyAuthenticator,
    ApiKeyBearerStrategy,
    ApiKeyHeaderStrategy,
  ],
  // For the metrics' gauges.
  exports: [ApiKeyCache, ApiKeyRevocationListener],
})
export class ApiKeysModule {}
