import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DatabaseOutage } from '../../database/database.outage';
import { AppError } from './app-error';
import { toAppError } from './error-mapping';

/**
 * The one place where failures become responses: every error, the framework's included,
 * answers `{ error, statusCode, code, request_id }`. Unexpected errors are logged whole and
 * answered without internals.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  /** `outage` is asked for on the first failure: the filter is made before the providers are. */
  constructor(private readonly outage?: () => DatabaseOutage) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger, this.outage?.());
  }
}

export function sendError(exception: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger, outage?: DatabaseOutage): void {
  const appError = logFailure(exception, request, logger, outage);
  if (reply.sent) return;
  for (const [name, value] of Object.entries(appError.headers)) reply.header(name, value);
  reply.status(appError.statusCode).send(appError.toBody(request.id));
}

/**
 * Maps a failure onto the contract's errors and logs it: a bug whole, another 5xx as a warning,
 * and a database outage not per request but once per outage (DatabaseOutage).
 */
export function logFailure(exception: unknown, request: FastifyRequest, logger: Logger, outage?: DatabaseOutage): AppError {
  const { appError, expected, outage: unreachable } = toAppError(exception);
  if (unreachable && outage) {
    outage.refused(exception);
    return appError;
  }
  // The path only: a query string can carry a credential (the confirmation link's token).
  const path = request.url.split('?', 1)[0];
  if (!expected) {
    logger.error(`${appError.code} on ${request.method} ${path}`, { err: exception, request_id: request.id, method: request.method, url: path });
  } else if (appError.statusCode >= 500) {
    logger.warn(appError.message, { request_id: request.id, method: request.method, url: path, code: appError.code });
  }
  return appError;
}
