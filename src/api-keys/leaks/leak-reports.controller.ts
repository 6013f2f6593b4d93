import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { ApiBadRequestResponse, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Public } from '../../common/auth/auth-policy.decorator';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { ApiRateLimitedResponse } from '../../common/http/api-rate-limited-response.decorator';
import { ROUTE_BEFORE_BODY } from '../../common/http/before-body';
import { ROUTE_BODY_LIMIT, ROUTE_PARSES_JSON, type UnparsedJson } from '../../common/http/body-parsers';
import { LeakReportLabelDto } from './dto/leak-report-label.dto';
import { LeakReportMatchDto } from './dto/leak-report-match.dto';
import { LeakReportHeadersCheck, leakReportSender } from './leak-report-headers.check';
import { LeakReportsService } from './leak-reports.service';

/** GitHub sends every match of a scan in one report, and wants it handled whole: more than BODY_LIMIT_BYTES is allowed here. */
export const LEAK_REPORT_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Where GitHub's secret-scanning partner program sends the keys it finds in public. Public to the
 * guard: the caller is authenticated by GitHub's signature over the body, which the service checks
 * before it parses the body (ROUTE_PARSES_JSON); its headers are checked before the body is read
 * (LeakReportHeadersCheck).
 */
@ApiTags('api-keys')
@Controller('auth/api-keys/leaks')
export class LeakReportsController {
  constructor(private readonly leaks: LeakReportsService) {}

  @Post()
  @Public()
  @HttpCode(200)
  @RouteConfig({ [ROUTE_BODY_LIMIT]: LEAK_REPORT_BODY_LIMIT_BYTES, [ROUTE_BEFORE_BODY]: LeakReportHeadersCheck, [ROUTE_PARSES_JSON]: true })
  @ApiOperation({
    summary: 'Report leaked API keys (GitHub secret scanning)',
    description:
      "GitHub secret scanning's partner-program endpoint: a JSON array of the tokens matching `atiru_[0-9A-Za-z]{38}` found " +
      'in public, signed by GitHub (ECDSA P-256, SHA-256, over the body exactly as sent) with a key the operator configures ' +
      '(GITHUB_SECRET_SCANNING_KEYS). Each of our keys that still works is revoked at once on every instance, and its owner is ' +
      'mailed where it was found. Answers a label per token. A report whose signature does not verify changes nothing. ' +
      'Bodies up to 1 MiB are accepted here.',
  })
  @ApiHeader({ name: 'Github-Public-Key-Identifier', required: true, description: 'Which of GitHub\'s keys signed the body (`key_identifier`)', example: 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c' })
  @ApiHeader({ name: 'Github-Public-Key-Signature', required: true, description: 'Base64 of the DER-encoded ECDSA signature of the body', example: 'MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==' })
  @ApiBody({ type: [LeakReportMatchDto], description: 'The matches, as GitHub sends them' })
  @ApiOkResponse({ description: 'A label per reported token, in order', type: [LeakReportLabelDto] })
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST: a signed body that is not an array of matches', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'MISSING_AUTH: a signature header is missing; INVALID_OR_EXPIRED_TOKEN: the signature does not verify, or names an unknown key', type: ErrorResponseDto })
  @ApiRateLimitedResponse('too many reports with bad signatures from this address')
  @ApiServiceUnavailableResponse({ description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
  reportLeakedApiKeys(@Req() request: FastifyRequest, @Body() body: UnparsedJson | undefined): Promise<LeakReportLabelDto[]> {
    return this.leaks.report({ ...leakReportSender(request), body });
  }
}
