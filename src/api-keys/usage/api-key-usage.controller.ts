import { Controller, Get, Param, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../../common/auth/principal';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { UuidParamPipe } from '../../common/http/uuid-param.pipe';
import { ApiKeyUsageService } from './api-key-usage.service';
import { ApiKeyUsageResponseDto } from './dto/api-key-usage-response.dto';

/** A key's usage, for its owner's session (as the other key operations): a key cannot read its own. */
@ApiTags('api-keys')
@Controller('auth/api-keys')
@Authenticated({ jwtOnly: true })
@ApiServiceUnavailableResponse({ description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
export class ApiKeyUsageController {
  constructor(private readonly usage: ApiKeyUsageService) {}

  @Get(':id/usage')
  @ApiOperation({
    summary: "An API key's usage",
    description:
      'When and from where the key was last used, and its requests per UTC day over the last 90 days: those let through and ' +
      'those refused (over a rate limit, or an operation the key may not call). Uses are written in batches every ' +
      'API_KEY_LAST_USED_INTERVAL_SECONDS, so the latest ones may not show yet. A revoked or expired key keeps its usage ' +
      'until it is deleted, API_KEY_RETENTION_DAYS after it ended (404 from then on).',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id', example: '3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32' })
  @ApiOkResponse({ description: "The key's usage", type: ApiKeyUsageResponseDto })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: the id is not a UUID', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: "NOT_FOUND: no such key, or another user's key", type: ErrorResponseDto })
  getApiKeyUsage(@Req() { user: principal }: AuthenticatedRequest, @Param('id', UuidParamPipe) id: string): Promise<ApiKeyUsageResponseDto> {
    return this.usage.forUser(principal.user.id, id);
  }
}
