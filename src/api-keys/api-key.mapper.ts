import { ApiKeyEntity } from './api-key.entity';
import { ApiKeyCreatedResponseDto, ApiKeyResponseDto } from './dto/api-key-response.dto';

export function toApiKeyResponse(entity: ApiKeyEntity): ApiKeyResponseDto {
  return {
    id: entity.id,
    key_prefix: entity.keyPrefix,
    name: entity.name,
    created_at: entity.createdAt.toISOString(),
    last_used_at: entity.lastUsedAt?.toISOString() ?? null,
    expires_at: entity.expiresAt?.toISOString() ?? null,
    scopes: entity.scopes,
    replaced_by: entity.replacedBy,
  };
}

export function toApiKeyCreatedResponse(entity: ApiKeyEntity, key: string): ApiKeyCreatedResponseDto {
  return {
    id: entity.id,
    key,
    key_prefix: entity.keyPrefix,
    name: entity.name,
    created_at: entity.createdAt.toISOString(),
    expires_at: entity.expiresAt?.toISOString() ?? null,
    scopes: entity.scopes,
  };
}
