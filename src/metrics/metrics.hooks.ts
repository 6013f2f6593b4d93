import type { FastifyInstance } from 'fastify';
import { MetricsService } from './metrics.service';

/** Counts every response as it ends. `metrics` is asked on first use: the hook is added before the application is built. */
export function addMetricsHook(fastify: FastifyInstance, metrics: () => MetricsService): void {
  let service: MetricsService | undefined;
  fastify.addHook('onResponse', (request, reply, done) => {
    service ??= metrics();
    service.observe(request, reply);
    done();
  });
}
