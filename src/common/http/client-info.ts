import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** What a session remembers about the device that opened it. */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

/** The caller's user agent and address (behind TRUST_PROXY, the forwarded one), cut to what is stored. */
export function clientInfoOf(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, 512) : null,
    ip: request.ip ? request.ip.slice(0, 64) : null,
  };
}

/** `@Client() client: ClientInfo`: the caller's user agent and address. */
export const Client = createParamDecorator((_data: unknown, context: ExecutionContext): ClientInfo => clientInfoOf(context.switchToHttp().getRequest<FastifyRequest>()));
