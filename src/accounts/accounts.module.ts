import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { LogFingerprintModule } from '../common/logging/log-fingerprint.module';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { AccountRequestsRepository } from './account-requests/account-requests.repository';
import { AccountRequestsWorker } from './account-requests/account-requests.worker';
import { RegistrationsRepository } from './account-requests/registrations.repository';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';
import { AuthModule } from '../auth/auth.module';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { OneTimeTokenEntity } from './one-time-tokens/one-time-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens/one-time-tokens.repository';
import { OneTimeTokensService } from './one-time-tokens/one-time-tokens.service';
import { PasswordHasher } from './passwords/password.hasher';
import { RedirectTargets } from './redirects/redirect.targets';
import { SecretTokens } from './secrets/secret.tokens';
import { RefreshCookie } from './sessions/refresh.cookie';
import { RefreshTokenEntity } from './sessions/refresh-token.entity';
import { RefreshTokensRepository } from './sessions/refresh-tokens.repository';
import { SessionEntity } from './sessions/session.entity';
import { SessionsRepository } from './sessions/sessions.repository';
import { SessionsService } from './sessions/sessions.service';
import { SessionsController } from './sessions/sessions.controller';

/** Accounts (register, confirm, reset) and sessions (login, refresh, logout). */
@Module({
  // ApiKeysModule for USER_API_KEYS alone: a password reset may revoke the user's keys.
  imports: [MikroOrmModule.forFeature([SessionEntity, RefreshTokenEntity, OneTimeTokenEntity]), LogFingerprintModule, UsersModule, MailModule, AuthModule, ApiKeysModule],
  controllers: [AccountsController, SessionsController],
  providers: [
    AccountsService,
    AccountRequestsWorker,
    AccountRequestsRepository,
    RegistrationsRepository,
    SessionsService,
    RefreshCookie,
    SessionsRepository,
    RefreshTokensRepository,
    OneTimeTokensRepository,
    OneTimeTokensService,
    PasswordHasher,
    RedirectTargets,
    SecretTokens,
  ],
})
export class AccountsModule {}
