import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export interface CorsPolicy {
  /** Exact origins (`https://app.atiru.dev`) whose pages may call the API from a browser. */
  origins: readonly string[];
  methods: readonly string[];
  allowedHeaders: readonly string[];
  exposedHeaders: readonly string[];
  maxAgeSeconds: number;
}

/**
 * What a response that caches may keep must carry, since CORS headers depend on the `Origin`: one
 * copy per origin, including of the answer to a request without one. Responses marked `no-store`
 * (every API response but the JWKS) are never kept, and go without it.
 */
export const CORS_VARY = { vary: 'Origin' } as const;

export type CorsHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * CORS for the API, as an `onRequest` hook. A request without an `Origin` header (curl, servers,
 * every API-key call) costs one header lookup; only a browser's request does any work. An allowed
 * origin is echoed back with the headers it may read; a preflight (`OPTIONS` with
 * `Access-Control-Request-Method`) is answered here with 204 and goes no further; an origin that
 * is not allowed gets no CORS header at all, so the browser refuses the response.
 *
 * It replaces `app.enableCors()` (@fastify/cors behind Nest's adapter), which was a large share of
 * an authenticated request's cost: options merged per request, a closure per request, and
 * every header copied onto the raw response, which sent Node's `writeHead` down its slow path.
 */
export function corsHook(policy: CorsPolicy): CorsHook {
  const allowed = new Set(policy.origins);
  const exposed = policy.exposedHeaders.join(', ');
  const preflight = {
    'access-control-allow-methods': policy.methods.join(', '),
    'access-control-allow-headers': policy.allowedHeaders.join(', '),
    'access-control-max-age': String(policy.maxAgeSeconds),
  };
  return (request, reply, done) => {
    const origin = request.headers.origin;
    if (origin === undefined) return done();
    const isAllowed = allowed.has(origin);
    if (isAllowed) reply.header('access-control-allow-origin', origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      reply.headers(preflight).header('content-length', '0').code(204).send();
      return;
    }
    if (isAllowed) reply.header('access-control-expose-headers', exposed);
    done();
  };
}
