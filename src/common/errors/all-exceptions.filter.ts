import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from './error-mapping';

/**
 * The one place where failures become responses: every error, the framework's included,
 * answers `{ error, statusCode, code }`. Unexpected errors are logged whole and answered
 * without internals.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}

export function sendError(exception: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const { appError, expected } = toAppError(exception);
  if (!expected) {
    logger.error({ err: exception, request_id: request.id, method: request.method, url: request.url }, `${appError.code} on ${request.method} ${request.url}`);
  } else if (appError.statusCode >= 500) {
    logger.warn({ request_id: request.id, method: request.method, url: request.url, code: appError.code }, appError.message);
  }
  if (reply.sent) return;
  for (const [name, value] of Object.entries(appError.headers)) reply.header(name, value);
  reply.status(appError.statusCode).send(appError.toBody(request.id));
}
