import { applyDecorators, Header } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { Authenticated } from './auth-policy.decorator';
import { Principal } from './principal';

/** Renders the whole JSON body of a route from the caller alone. */
export type RenderFromPrincipal = (principal: Principal) => string;

/** The route option (Fastify's `config`) that carries a route's renderer. */
export const RENDER_FROM_PRINCIPAL = 'atiru:render-from-principal';

const JSON_BODY = 'application/json; charset=utf-8';

/**
 * Declares a route whose answer is `render(principal)` and nothing else: no body, no parameter but
 * the caller, no side effect, no interceptor, pipe or guard of its own (the answers given at once
 * would not run them), and a JWT or an API key to call it. The handler
 * returns `render(principal)` itself, and Nest runs it as any other; but when the combined guard
 * can admit a request at once (`admitAtOnce`: a credential it knows from memory), Fastify's
 * handler answers with the same body, headers and status without Nest's per-request pipeline,
 * which costs such a route more than everything else it does (about a dozen promises for a handler
 * that is synchronous; see the README, "Performance"). Every other request (a credential not seen
 * yet, a blocked client, a shared rate-limit store) takes the usual way through Nest.
 */
export const AnsweredFromPrincipal = (render: RenderFromPrincipal): MethodDecorator =>
  applyDecorators(Authenticated(), Header('Content-Type', JSON_BODY), RouteConfig({ [RENDER_FROM_PRINCIPAL]: render }));

/** What the fast answer needs of the combined guard. */
export interface AtOnceAdmission {
  admitAtOnce(request: FastifyRequest, policy: 'any'): Principal | undefined;
}

/**
 * Fastify's `onRoute` hook that gives each route declared `@AnsweredFromPrincipal` its fast
 * answer, in front of the handler Nest registered. Added before Nest registers its routes
 * (`app.init()`); `guard` is asked on first use, once the application is built.
 *
 * The answer is written to Node's response directly (`reply.hijack()`), with `headers` (the
 * security headers every API response carries), the request id, the content type and length:
 * the headers Fastify's `onSend` hook would add (see configureHttp), without building them into
 * Fastify's reply one `reply.header()` at a time, which cost a tenth of such a request. A
 * browser's request (one with an `Origin`) is sent through Fastify instead, with the CORS headers
 * its `onRequest` hook set. Node sends no body for a HEAD request, as Fastify's HEAD route would.
 */
export function answerFromPrincipalAtOnce(guard: () => AtOnceAdmission, headers: Readonly<Record<string, string>>): (route: RouteOptions) => void {
  return (route) => {
    const render = (route.config as Record<string, unknown> | undefined)?.[RENDER_FROM_PRINCIPAL] as RenderFromPrincipal | undefined;
    if (render === undefined) return;
    const throughNest = route.handler;
    // As name, value, name, value, which Node's writeHead takes as it is: an object spread per
    // request into a new one with three more headers made V8 build a new hidden class each time.
    const fixedHeaders = Object.entries(headers).flat();
    let admission: AtOnceAdmission | undefined;
    route.handler = function answerAtOnce(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const principal = (admission ??= guard()).admitAtOnce(request, 'any');
      if (principal === undefined) return throughNest.call(this, request, reply);
      const body = render(principal);
      if (request.headers.origin !== undefined) {
        reply.header('content-type', JSON_BODY).send(body);
        // Nothing returned: Fastify sends what a synchronous handler returns, and sending the reply
        // again would only build an FST_ERR_REP_ALREADY_SENT error, stack trace and all, for the log.
        return;
      }
      reply.hijack();
      reply.raw.writeHead(200, [...fixedHeaders, 'x-request-id', request.id, 'content-type', JSON_BODY, 'content-length', String(Buffer.byteLength(body))]);
      reply.raw.end(body);
    };
  };
}
