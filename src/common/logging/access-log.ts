import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import { AccessLogWriter, AppLogger } from './app.logger';

/**
 * One `info` line per answered request: method, route pattern, status, duration, request id,
 * client IP (after TRUST_PROXY) and the caller's user id when one was authenticated. The route
 * is the pattern (`/auth/api-keys/:id`), never the URL: a query string may carry a token
 * (`/auth/confirm?token=…`), and an unknown path may be anything. Headers and bodies are never
 * logged.
 *
 * The hook runs for every request, so it asks whether `info` is on before anything else: at
 * `warn` or above (a deployment that ships no access log) a request pays that one question. The
 * line goes to the application's own logger (AppLogger, as the service, the tests and the bench
 * give it); with no logger or another kind, no hook is added.
 */
export function installAccessLog(fastify: FastifyInstance, logger: LoggerService | false | undefined): void {
  if (!(logger instanceof AppLogger)) return;
  const log = logger.access;
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (log.enabled()) writeAccessLine(log, request, reply);
    done();
  });
}

function writeAccessLine(log: AccessLogWriter, request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  // Built per call by Fastify; read only when the line is written.
  const route = request.routeOptions.url ?? null;
  const principal = (request as FastifyRequest & { user?: Principal | null }).user;
  const fields = {
    request_id: request.id,
    event: 'http_request',
    method: request.method,
    route,
    status,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
    ip: request.ip,
    user_id: principal?.user.id ?? null,
    auth: principal?.method ?? null,
  };
  log.write(fields, `${request.method} ${route ?? '(no route)'} ${status}`);
}
