import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { SecretTokens } from '../secrets/secret.tokens';
import { OneTimeTokenEntity, OneTimeTokenPurpose } from './one-time-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens.repository';

/** Tokens are 32 bytes in base64url: anything else is not one of ours, and costs no query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Whom a token acts for: a user, or (for confirmation) a pending registration. */
export type OneTimeTokenOwner = { userId: string } | { registrationId: string };

export type OneTimeTokenLookup =
  | { state: 'unknown' }
  | { state: 'valid' | 'used' | 'expired'; record: OneTimeTokenEntity };

/** Issues and looks up the single-purpose tokens that mails carry. */
@Injectable()
export class OneTimeTokensService {
  constructor(
    private readonly tokens: OneTimeTokensRepository,
    private readonly secrets: SecretTokens,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Stores a new token's hash in the caller's transaction and answers the token itself. */
  async issue(em: EntityManager, owner: OneTimeTokenOwner, purpose: OneTimeTokenPurpose, redirectTo: string | null, now: Date): Promise<string> {
    const { token, hash } = this.secrets.generate();
    const ttlSeconds = purpose === 'confirm_email' ? this.config.tokens.confirmTtlSeconds : this.config.tokens.resetTtlSeconds;
    await this.tokens.add(em, {
      tokenHash: hash,
      purpose,
      userId: 'userId' in owner ? owner.userId : null,
      registrationId: 'registrationId' in owner ? owner.registrationId : null,
      redirectTo,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
    });
    return token;
  }

  /**
   * Whether the token could be spent, read without a lock: a caller with costly work to do (a
   * password to hash) asks this first, so a made-up token costs one indexed read and nothing more.
   */
  async isSpendable(em: EntityManager, token: string, purpose: OneTimeTokenPurpose, now: Date): Promise<boolean> {
    if (!TOKEN_SHAPE.test(token)) return false;
    const record = await this.tokens.findByHash(em, this.secrets.hash(token), purpose);
    return record !== null && record.usedAt === null && record.expiresAt.getTime() > now.getTime();
  }

  /** Finds the token and locks it until the caller's transaction ends. Expiry wins over use. */
  async lookUp(em: EntityManager, token: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeTokenLookup> {
    if (!TOKEN_SHAPE.test(token)) return { state: 'unknown' };
    return classify(await this.tokens.findByHashForUpdate(em, this.secrets.hash(token), purpose), now);
  }

  /** The same answer as `lookUp`, read without a lock, for a caller that only shows what the token would do. */
  async peek(em: EntityManager, token: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeTokenLookup> {
    if (!TOKEN_SHAPE.test(token)) return { state: 'unknown' };
    return classify(await this.tokens.findByHash(em, this.secrets.hash(token), purpose), now);
  }
}

function classify(record: OneTimeTokenEntity | null, now: Date): OneTimeTokenLookup {
  if (!record) return { state: 'unknown' };
  if (record.expiresAt.getTime() <= now.getTime()) return { state: 'expired', record };
  return { state: record.usedAt ? 'used' : 'valid', record };
}
