import { Module } from '@nestjs/common';
import { AccessTokenService } from './tokens/access-token.service';

/** Placeholder until the auth core lands. */
@Module({ providers: [AccessTokenService], exports: [AccessTokenService] })
export class AuthModule {}
