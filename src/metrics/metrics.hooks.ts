import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { MetricsService } from './metrics.service';

/**
 * Counts every response of every route as it ends, with a hook of the route's own that knows the
 * route's pattern: reading it from the request (`request.routeOptions`) builds an object per call.
 * Requests to paths no route matches are not counted. Added before Nest registers its routes;
 * `metrics` is asked on first use, once the application is built.
 */
export function addMetricsHook(fastify: FastifyInstance, metrics: () => MetricsService): void {
  fastify.addHook('onRoute', (route) => {
    let observe: ((request: FastifyRequest, reply: FastifyReply) => void) | undefined;
    const hook: onResponseHookHandler = (request, reply, done) => {
      (observe ??= metrics().routeObserver(route.url))(request, reply);
      done();
    };
    route.onResponse = route.onResponse === undefined ? [hook] : [...[route.onResponse].flat(), hook];
  });
}
