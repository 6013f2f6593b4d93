import { ArgumentsHost, Catch, ExceptionFilter, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { logFailure } from '../common/errors/all-exceptions.filter';
import { DatabaseOutage } from '../database/database.outage';
import { ACCOUNT_MESSAGES, ConfirmationFailed } from './accounts.service';
import { RedirectTargets } from './redirects/redirect.targets';

/**
 * The confirmation link and its page's button are a browser's, which should land on a page, never
 * on a JSON error: a token that confirms nothing lands where its registration asked
 * (ConfirmationFailed); any other failure (a missing token, the client over its rate limit, the
 * database down) redirects to the dashboard with `error`, `error_code` and `request_id` query
 * parameters the page can show, and the error's headers (`Retry-After`); after the button's POST
 * with 303, so the browser follows it with a GET.
 */
@Catch()
@Injectable()
export class ConfirmLinkErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(
    private readonly redirects: RedirectTargets,
    private readonly outage: DatabaseOutage,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const appError = logFailure(exception, request, this.logger, this.outage);
    if (reply.sent) return;
    const status = request.method === 'POST' ? 303 : 302;
    if (exception instanceof ConfirmationFailed) return void reply.redirect(exception.landing, status);
    // A refused request's own words (a validation error names every field it was sent) would put
    // the sender's text in the landing's address, unbounded: the landing gets the link's words.
    const error = appError.code === 'INVALID_REQUEST' ? ACCOUNT_MESSAGES.invalidConfirmation : appError.message;
    reply.headers(appError.headers);
    reply.redirect(this.redirects.landing(null, 'confirmed', { error, error_code: appError.code, request_id: request.id }), status);
  }
}
