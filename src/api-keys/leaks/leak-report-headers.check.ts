import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { BeforeBodyCheck } from '../../common/http/before-body';
import { RateLimiterService } from '../../rate-limit/rate-limiter.service';
import { LeakReportSender, LeakReportsService } from './leak-reports.service';

/**
 * What a leak report must show before its body is read (ROUTE_BEFORE_BODY): anyone may send up to
 * LEAK_REPORT_BODY_LIMIT_BYTES of JSON here, so a client blocked for failed authentications, and a
 * report no configured key could verify, are refused before it is parsed. The route is
 * `@Public()`, which the guard lets through before its own check of blocked clients.
 */
@Injectable()
export class LeakReportHeadersCheck implements BeforeBodyCheck {
  constructor(
    private readonly limiter: RateLimiterService,
    private readonly leaks: LeakReportsService,
  ) {}

  async check(request: FastifyRequest): Promise<void> {
    this.limiter.refuseBlockedClient(request);
    await this.leaks.screen(leakReportSender(request));
  }
}

/** The signature headers of a report and its client's address. */
export function leakReportSender(request: FastifyRequest): LeakReportSender {
  return {
    keyIdentifier: headerOf(request, 'github-public-key-identifier'),
    signature: headerOf(request, 'github-public-key-signature'),
    ip: request.ip,
  };
}

/** A header sent once, as a string (read here rather than with `@Headers()`, which would document it a second time, in lower case). */
function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
