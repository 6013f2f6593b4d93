import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { Principal } from '../common/auth/principal';
import { ClientInfo } from '../common/http/client-info';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { generateApiKey, hashApiKey } from './api-key-format';
import { toApiKeyCreatedResponse, toApiKeyResponse } from './api-key.mapper';
import { ApiKeyRevocationListener } from './api-key-revocation.listener';
import { ApiKeysRepository } from './api-keys.repository';
import { checkedScopes } from './api-key-scopes';
import { ApiKeyCreateDto } from './dto/api-key-create.dto';
import { ApiKeyRollDto, DEFAULT_ROLL_GRACE_SECONDS } from './dto/api-key-roll.dto';
import { ApiKeyCreatedResponseDto, ApiKeyListResponseDto } from './dto/api-key-response.dto';
import { inTransaction } from '../database/transaction';
import { MailService } from '../mail/mail.service';
import { UsersRepository } from '../users/users.repository';
import { UserApiKeys } from './user-api-keys';

@Injectable()
export class ApiKeysService implements UserApiKeys {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly em: EntityManager,
    private readonly repository: ApiKeysRepository,
    private readonly revocations: ApiKeyRevocationListener,
    private readonly mail: MailService,
    private readonly users: UsersRepository,
  ) {}

  /** The owner is told by mail, in the same transaction: a key made by someone else does not go unnoticed. */
  async create(caller: Principal, request: ApiKeyCreateDto, client: ClientInfo): Promise<ApiKeyCreatedResponseDto> {
    const userId = caller.user.id;
    const expiresAt = request.expires_at ? new Date(request.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw AppError.invalidRequest('Invalid request: expires_at must be in the future');
    }
    const scopes = checkedScopes(request.scopes, this.config.apiKeys.scopes);
    const max = this.config.apiKeys.maxActivePerUser;
    const { key, prefix } = generateApiKey();
    const entity = await inTransaction(this.em, async (em) => {
      const ownerEmail = await this.lockOwnerInLiveSession(em, caller);
      if ((await this.repository.countActiveForUser(em, userId)) >= max) {
        throw AppError.invalidRequest(`You already have ${max} active API keys, the most allowed: revoke one before creating another`);
      }
      const created = await this.repository.insert(em, {
        userId,
        name: request.name ?? null,
        keyPrefix: prefix,
        keyHash: hashApiKey(key),
        expiresAt,
        scopes,
      });
      await this.mail.enqueue(em, {
        template: 'api-key-created',
        to: ownerEmail,
        link: this.config.http.dashboardUrl,
        name: created.name,
        key_prefix: created.keyPrefix,
        at: created.createdAt,
        ip: client.ip,
        user_agent: client.userAgent,
      });
      return created;
    });
    this.logger.log(`user ${userId} created API key ${prefix} (${entity.id})`);
    return toApiKeyCreatedResponse(entity, key);
  }

  /**
   * Replaces the caller's key with a new one of the same name, scopes and expiry, shown once as
   * at creation. The old key works until the grace period ends (or its own expiry, if sooner):
   * instances that hold it in memory are told to read it again, with its new end, before this
   * answers; with no grace period it is revoked at once. The owner is mailed, in the same
   * transaction. The cap on active keys does not apply, since the old key ends within a week; but
   * the rolled keys still in their grace period may not outnumber it, or rolling each new key in
   * turn would hold any number of working keys. A roll with no grace period never adds one.
   */
  async roll(caller: Principal, id: string, request: ApiKeyRollDto, client: ClientInfo): Promise<ApiKeyCreatedResponseDto> {
    const userId = caller.user.id;
    const graceSeconds = request.grace_period_seconds ?? DEFAULT_ROLL_GRACE_SECONDS;
    const { key, prefix } = generateApiKey();
    const { created, old } = await inTransaction(this.em, async (em) => {
      const ownerEmail = await this.lockOwnerInLiveSession(em, caller);
      const old = await this.repository.lockRollableForUser(em, userId, id);
      if (old === null) throw AppError.notFound('API key not found');
      const max = this.config.apiKeys.maxActivePerUser;
      if (graceSeconds > 0 && (await this.repository.countActiveForUser(em, userId, { rolled: true })) >= max) {
        throw AppError.invalidRequest(
          `You already have ${max} rolled API keys still in their grace period, the most allowed: revoke them, wait for them to end, or roll with grace_period_seconds 0`,
        );
      }
      const created = await this.repository.insert(em, { userId, name: old.name, keyPrefix: prefix, keyHash: hashApiKey(key), expiresAt: old.expiresAt, scopes: old.scopes });
      const retired = await this.repository.retireRolled(em, id, created.id, graceSeconds === 0 ? null : new Date(created.createdAt.getTime() + graceSeconds * 1000));
      // Every instance drops the old key from memory: revoked, or read again with its new end.
      await this.revocations.announce(em, retired.keyHash);
      await this.mail.enqueue(em, {
        template: 'api-key-rolled',
        to: ownerEmail,
        link: this.config.http.dashboardUrl,
        name: old.name,
        key_prefix: old.keyPrefix,
        new_key_prefix: created.keyPrefix,
        old_key_ends_at: graceSeconds === 0 ? null : retired.endsAt,
        at: created.createdAt,
        ip: client.ip,
        user_agent: client.userAgent,
      });
      return { created, old: { ...old, endsAt: retired.endsAt } };
    });
    this.logger.log(`user ${userId} rolled API key ${old.keyPrefix} (${id}) to ${prefix} (${created.id}); the old one ends at ${old.endsAt.toISOString()}`);
    return toApiKeyCreatedResponse(created, key);
  }

  /**
   * The owner's address, with their row locked (key changes of one user queue on it), once the
   * caller's session is known to be live still: the guard admitted it before this waited for the
   * row, and a password reset that held the row meanwhile has revoked the sessions (and, if asked,
   * the keys), so a key made after it by a session it ended would outlive the reset. The check is
   * a statement of its own, after the lock: it sees what the reset committed.
   */
  private async lockOwnerInLiveSession(em: EntityManager, caller: Principal): Promise<string> {
    const ownerEmail = await this.repository.lockOwner(em, caller.user.id);
    if (ownerEmail === null) throw AppError.invalidToken();
    if (caller.session_id === undefined || !(await this.users.hasLiveSession(em, caller.user.id, caller.session_id))) {
      throw AppError.invalidToken('This session has ended');
    }
    return ownerEmail;
  }

  async list(userId: string): Promise<ApiKeyListResponseDto> {
    const keys = await this.repository.listActiveForUser(userId);
    return { api_keys: keys.map(toApiKeyResponse) };
  }

  /** Revokes the caller's key, and answers once every instance has dropped it from memory. */
  async revoke(userId: string, id: string): Promise<void> {
    await inTransaction(this.em, async (em) => {
      const keyHash = await this.repository.revokeForUser(em, userId, id);
      if (!keyHash) throw AppError.notFound('API key not found');
      await this.revocations.announce(em, keyHash);
    });
    this.logger.log(`user ${userId} revoked API key ${id}`);
  }

  /** A password reset that asked for it: every key ends with the attacker's sessions (decision 025). */
  async revokeAllForUser(em: EntityManager, userId: string): Promise<number> {
    const keyHashes = await this.repository.revokeAllForUser(em, userId);
    // Announced in turn: each registers its wait for the instances' acknowledgements after the commit.
    for (const keyHash of keyHashes) await this.revocations.announce(em, keyHash);
    if (keyHashes.length > 0) this.logger.log(`user ${userId} had all ${keyHashes.length} API keys revoked by a password reset`);
    return keyHashes.length;
  }

  countActiveForUser(em: EntityManager, userId: string): Promise<number> {
    return this.repository.countActiveForUser(em, userId);
  }
}
