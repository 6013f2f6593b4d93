import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/**
 * The request being served, carried through its async work so that every log line written for
 * it names it, whichever class writes the line. On Node 24 an AsyncLocalStorage rides on V8's
 * async context frames and costs little; on older Node it runs on async hooks and costs every
 * promise more (docs/decisions/003-async-local-storage.md has the figures).
 */
const storage = new AsyncLocalStorage<FastifyRequest>();

/** The id of the request whose work is running now, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.id;
}

/**
 * Runs each request's later hooks and its handler inside its context, from `onRequest` on. A body
 * that arrives after the headers is read in callbacks that keep it too (the request logging test
 * sends one late).
 */
export function carryRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => storage.run(request, done));
}

/**
 * Runs `work` outside any request's context: what it starts (a background worker woken by a
 * request, say) is not logged, nor its statements counted, as that request's.
 */
export function outsideRequest<T>(work: () => T): T {
  return storage.exit(work);
}
