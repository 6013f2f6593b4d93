import { ApiKeyUsage } from './api-key-usage.repository';
import { ApiKeyUsageResponseDto } from './dto/api-key-usage-response.dto';

export function toApiKeyUsageResponse(usage: ApiKeyUsage, since: string): ApiKeyUsageResponseDto {
  return {
    id: usage.id,
    last_used_at: usage.lastUsedAt?.toISOString() ?? null,
    last_used_ip: usage.lastUsedIp,
    last_used_user_agent: usage.lastUsedUserAgent,
    since,
    days: usage.days.map((day) => ({ day: day.day, succeeded: day.succeeded, refused: day.refused })),
  };
}
