import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { toApiKeyUsageResponse } from './api-key-usage.mapper';
import { firstRetainedDay } from './api-key-usage.recorder';
import { ApiKeyUsageRepository } from './api-key-usage.repository';
import { ApiKeyUsageResponseDto } from './dto/api-key-usage-response.dto';

@Injectable()
export class ApiKeyUsageService {
  constructor(private readonly repository: ApiKeyUsageRepository) {}

  /** The owner's key's usage over the retained days; someone else's key is as unknown as a missing one. */
  async forUser(userId: string, id: string): Promise<ApiKeyUsageResponseDto> {
    const since = firstRetainedDay(Date.now());
    const usage = await this.repository.findForUser(userId, id, since);
    if (usage === null) throw AppError.notFound('API key not found');
    return toApiKeyUsageResponse(usage, since);
  }
}
