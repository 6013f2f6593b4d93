import type { Type } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';

/**
 * The route config entry (`@RouteConfig` of @nestjs/platform-fastify) naming the provider that
 * checks a route's requests before their bodies are read. For a route that takes large bodies
 * from callers it authenticates by their headers: a request the headers already condemn costs no
 * reading and no parsing.
 */
export const ROUTE_BEFORE_BODY = 'beforeBody';

/** Refuses a request, by throwing an AppError, on what is known of it before its body is read. */
export interface BeforeBodyCheck {
  check(request: FastifyRequest): Promise<void>;
}

/**
 * Gives each route whose config names a BeforeBodyCheck a hook of its own that asks it. A route's
 * own hooks run after those every request goes through, so a refusal carries the request id and
 * the security headers, is logged in the request's context and reaches the exception filter as
 * any error does. Added before Nest registers its routes; `resolve` is asked on first use, once
 * the application is built.
 */
export function checkBeforeBody(fastify: FastifyInstance, resolve: (type: Type<BeforeBodyCheck>) => BeforeBodyCheck): void {
  fastify.addHook('onRoute', (route) => {
    const type = (route.config as Record<string, unknown> | undefined)?.[ROUTE_BEFORE_BODY] as Type<BeforeBodyCheck> | undefined;
    if (type === undefined) return;
    let checker: BeforeBodyCheck | undefined;
    const hook: onRequestHookHandler = (request, _reply, done) => {
      (checker ??= resolve(type)).check(request).then(() => done(), done);
    };
    route.onRequest = route.onRequest === undefined ? [hook] : [...[route.onRequest].flat(), hook];
  });
}
