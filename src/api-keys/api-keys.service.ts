import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { ClientInfo } from '../auth/sessions/client-info';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { generateApiKey, hashApiKey } from './api-key-format';
import { toApiKeyCreatedResponse, toApiKeyResponse } from './api-key.mapper';
import { ApiKeyRevocationListener } from './api-key-revocation.listener';
import { ApiKeysRepository } from './api-key.repository';
import { ApiKeyCreateDto } from './dto/api-key-create.dto';
import { ApiKeyCreatedResponseDto, ApiKeyListResponseDto } from './dto/api-key-response.dto';
import { inTransaction } from '../database/transaction';
import { MailService } from '../mail/mail.service';

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly em: EntityManager,
    private readonly repository: ApiKeysRepository,
    private readonly revocations: ApiKeyRevocationListener,
    private readonly mail: MailService,
  ) {}

  /** The owner is told by mail, in the same transaction: a key made by someone else does not go unnoticed. */
  async create(userId: string, request: ApiKeyCreateDto, client: ClientInfo): Promise<ApiKeyCreatedResponseDto> {
    const expiresAt = request.expires_at ? new Date(request.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw AppError.invalidRequest('Invalid request: expires_at must be in the future');
    }
    const max = this.config.apiKeys.maxActivePerUser;
    const { key, prefix } = generateApiKey();
    const entity = await inTransaction(this.em, async (em) => {
      const ownerEmail = await this.repository.lockOwner(em, userId);
      if (ownerEmail === null) throw AppError.invalidToken();
      if ((await this.repository.countActiveForUser(em, userId)) >= max) {
        throw AppError.invalidRequest(`You already have ${max} active API keys, the most allowed: revoke one before creating another`);
      }
      const created = await this.repository.insert(em, {
        userId,
        name: request.name ?? null,
        keyPrefix: prefix,
        keyHash: hashApiKey(key),
        expiresAt,
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
}
