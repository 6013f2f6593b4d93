import type { FastifyInstance } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { ServiceLifecycle } from './service-lifecycle';

/**
 * While the instance stops: every response asks the client to close its connection (so its next
 * request opens one to another instance instead of racing this one's close), and a request that
 * arrives once the instance is closing gets the contract's 503 with Retry-After. `lifecycle` is
 * asked on first use: the hooks are added before the application is built.
 */
export function addLifecycleHooks(fastify: FastifyInstance, lifecycle: () => ServiceLifecycle): void {
  let state: ServiceLifecycle | undefined;
  fastify.addHook('onRequest', (_request, reply, done) => {
    if ((state ??= lifecycle()).phase !== 'closing') return done();
    const error = AppError.serverBusy('This instance is stopping: retry, another instance will answer');
    reply.code(error.statusCode).headers(error.headers).send(error.toBody());
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (!(state ??= lifecycle()).serving) reply.header('connection', 'close');
    done(null, payload);
  });
}
