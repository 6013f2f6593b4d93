import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { BeforeBodyCheck } from '../../common/http/before-body';
import { LeakReportSender, LeakReportsService } from './leak-reports.service';

/**
 * What a leak report must show before its body is read (ROUTE_BEFORE_BODY): anyone may send up to
 * LEAK_REPORT_BODY_LIMIT_BYTES here, so a report no configured key could verify is refused before
 * it is read. A client blocked for failed authentications is not refused for that alone: GitHub
 * sends from addresses others share (its webhooks come from them too), so anyone could get them
 * blocked and keep a leaked key from being revoked; a forged report from a blocked address is
 * still refused, with 429, when its failure is counted.
 */
@Injectable()
export class LeakReportHeadersCheck implements BeforeBodyCheck {
  constructor(private readonly leaks: LeakReportsService) {}

  async check(request: FastifyRequest): Promise<void> {
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
