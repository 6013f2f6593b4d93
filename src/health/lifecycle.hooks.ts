import type { FastifyInstance } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { ServiceLifecycle } from './service.lifecycle';

/**
 * While the instance stops: every response closes its connection (so the client's next request
 * opens one to another instance instead of racing this one's close), and a request that arrives
 * once the instance is closing gets the contract's 503 with Retry-After. One hook, which costs a
 * serving instance one property read. `lifecycle` is asked on first use: the hook is added before
 * the application is built.
 */
export function addLifecycleHooks(fastify: FastifyInstance, lifecycle: () => ServiceLifecycle): void {
  let state: ServiceLifecycle | undefined;
  fastify.addHook('onRequest', (_request, reply, done) => {
    const phase = (state ??= lifecycle()).phase;
    if (phase === 'serving') return done();
    // Node then answers with Connection: close and closes the socket after the response.
    reply.raw.shouldKeepAlive = false;
    if (phase === 'draining') return done();
    const error = AppError.serverBusy('This instance is stopping: retry, another instance will answer');
    reply.code(error.statusCode).headers(error.headers).send(error.toBody());
  });
}
