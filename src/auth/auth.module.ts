import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { UsersModule } from '../users/users.module';
import { AppPassport } from './guards/app.passport';
import { CombinedAuthGuard } from './guards/combined-auth.guard';
import { IntrospectionClients } from './guards/introspection.clients';
import { CredentialUses } from './guards/credential.uses';
import { JwksController } from './keys/jwks.controller';
import { SigningKeyCipher } from './keys/signing-key.cipher';
import { SigningKeyEntity } from './keys/signing-key.entity';
import { SigningKeyRing } from './keys/signing-key.ring';
import { SigningKeysRepository } from './keys/signing-keys.repository';
import { SigningKeysService } from './keys/signing-keys.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { SessionRevocations } from './tokens/session.revocations';
import { AccessTokenService } from './tokens/access-token.service';
import { AccessTokenSessions } from './tokens/access-token.sessions';

/** Signing keys, access tokens and the sessions they are bound to, the JWT strategy and the global guard every route passes. */
@Module({
  imports: [MikroOrmModule.forFeature([SigningKeyEntity]), UsersModule],
  controllers: [JwksController],
  providers: [
    AppPassport,
    CredentialUses,
    SigningKeyCipher,
    SigningKeysRepository,
    SigningKeysService,
    SigningKeyRing,
    AccessTokenService,
    SessionRevocations,
    AccessTokenSessions,
    JwtStrategy,
    IntrospectionClients,
    CombinedAuthGuard,
    { provide: APP_GUARD, useExisting: CombinedAuthGuard },
  ],
  exports: [AccessTokenService, AppPassport, CredentialUses, SessionRevocations, SigningKeysService, SigningKeyRing],
})
export class AuthModule {}
