import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import { ACCESS_LOG_CONTEXT } from './logger';
import { carryRequestContext } from './request-context';

const logger = new Logger(ACCESS_LOG_CONTEXT);

/**
 * One `info` line per answered request: method, route pattern, status, duration, request id,
 * client IP (after TRUST_PROXY) and the caller's user id when one was authenticated. The route
 * is the pattern (`/auth/api-keys/:id`), never the URL: a query string may carry a token
 * (`/auth/confirm?token=…`), and an unknown path may be anything. Headers and bodies are never
 * logged.
 *
 * Also carries each request's context through its async work (request-context.ts), so that the
 * other lines written for a request name it too.
 */
export function installAccessLog(fastify: FastifyInstance): void {
  carryRequestContext(fastify);
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? null;
    const principal = (request as FastifyRequest & { user?: Principal | null }).user;
    logger.log(`${request.method} ${route ?? '(no route)'} ${status}`, {
      event: 'http_request',
      method: request.method,
      route,
      status,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      request_id: request.id,
      ip: request.ip,
      user_id: principal?.user.id ?? null,
      auth: principal?.method ?? null,
    });
    done();
  });
}
