import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Client, ClientInfo } from '../common/http/client-info';
import { Authenticated } from '../common/auth/auth-policy.decorator';
import { AuthenticatedRequest } from '../common/auth/principal';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyCreateDto } from './dto/api-key-create.dto';
import { ApiKeyRollDto } from './dto/api-key-roll.dto';
import { ApiKeyCreatedResponseDto, ApiKeyListResponseDto } from './dto/api-key-response.dto';

/** What a 429 of creating or rolling keys means. */
const KEY_CHANGES_LIMITED = 'too many keys created and rolled by this user within the hour (RATE_LIMIT_KEY_CHANGE_USER): each mails the owner a notice';

/** API keys are managed with a session only: a key cannot mint, list or revoke keys. */
@ApiTags('api-keys')
@Controller('auth/api-keys')
@Authenticated({ jwtOnly: true })
@ApiServiceUnavailableResponse({ description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @RateLimit('key_change', { limited: KEY_CHANGES_LIMITED })
  @ApiOperation({
    summary: 'Create an API key',
    description:
      'Creates a key for the caller and returns it. The key is shown in this response only and never again; ' +
      'the service keeps only its SHA-256 hash. Use it as `Authorization: Bearer <key>` or `X-Api-Key: <key>`. The account\'s ' +
      'owner is mailed a notice (name, prefix, time, client IP and user agent).',
  })
  @ApiCreatedResponse({ description: 'The new key: the only response that ever carries it', type: ApiKeyCreatedResponseDto })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: a field is invalid, a scope is not in the configured vocabulary, expires_at is not in the future, or the cap on active keys is reached', type: ErrorResponseDto })
  createApiKey(@Req() { user: principal }: AuthenticatedRequest, @Body() body: ApiKeyCreateDto, @Client() client: ClientInfo): Promise<ApiKeyCreatedResponseDto> {
    return this.apiKeys.create(principal, body, client);
  }

  @Get()
  @ApiOperation({
    summary: "List the caller's API keys",
    description: 'The active keys (not revoked, not expired), newest first, rolled keys included until their grace period ends. Never a key or its hash.',
  })
  @ApiOkResponse({ description: "The caller's active keys", type: ApiKeyListResponseDto })
  listApiKeys(@Req() { user: principal }: AuthenticatedRequest): Promise<ApiKeyListResponseDto> {
    return this.apiKeys.list(principal.user.id);
  }

  @Post(':id/roll')
  @RateLimit('key_change', { limited: KEY_CHANGES_LIMITED })
  @ApiOperation({
    summary: 'Roll an API key',
    description:
      'Replaces a key with a new one of the same name, scopes and expiry, returned as at creation: in this response only. ' +
      'The old key keeps working for `grace_period_seconds` (default a day, at most a week; 0 revokes it at once), then stops on every ' +
      'instance; until then the list shows both, the old one with its end in `expires_at` and the new one\'s id in `replaced_by`. ' +
      'The account\'s owner is mailed a notice. A key that was rolled already cannot be rolled again: roll its replacement.',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key to replace', example: '3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32' })
  @ApiBody({ type: ApiKeyRollDto, required: false })
  @ApiCreatedResponse({ description: 'The new key: the only response that ever carries it', type: ApiKeyCreatedResponseDto })
  @ApiBadRequestResponse({
    description:
      'INVALID_REQUEST: the id is not a UUID, grace_period_seconds is not a whole number from 0 to 604800, or as many rolled keys as the cap on active keys are still in their grace period (a roll with grace_period_seconds 0 is always taken)',
    type: ErrorResponseDto,
  })
  @ApiNotFoundResponse({ description: "NOT_FOUND: no such key, another user's key, a revoked or expired one, or one rolled already", type: ErrorResponseDto })
  rollApiKey(
    @Req() { user: principal }: AuthenticatedRequest,
    @Param('id', UuidParamPipe) id: string,
    @Body() body: ApiKeyRollDto,
    @Client() client: ClientInfo,
  ): Promise<ApiKeyCreatedResponseDto> {
    return this.apiKeys.roll(principal, id, body, client);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke an API key',
    description: 'The key stops authenticating at once, on every instance of the service.',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id', example: '3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: the id is not a UUID', type: ErrorResponseDto })
  @ApiNotFoundResponse({ description: "NOT_FOUND: no such key, another user's key, or one already revoked or expired", type: ErrorResponseDto })
  async revokeApiKey(@Req() { user: principal }: AuthenticatedRequest, @Param('id', UuidParamPipe) id: string): Promise<void> {
    await this.apiKeys.revoke(principal.user.id, id);
  }
}
