import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceLifecycle } from './service.lifecycle';

export interface GracefulStopOptions {
  /** How long to keep serving while reporting not-ready: the load balancers' time to notice. */
  drainMs: number;
  /** How long requests in flight may take once the instance stops listening. */
  timeoutMs: number;
  log(message: string): void;
}

const POLL_MS = 100;
/** How long, at least, new requests are answered 503 before the listener closes (at most the drain, if longer). */
const MIN_CLOSING_WINDOW_MS = 1_000;

/**
 * Stops taking work without dropping any: report not-ready and close each connection after its
 * response (drain); then answer new requests 503; then stop listening, let the requests in flight
 * finish, and close the application (its shutdown hooks flush pending writes and end the mail
 * batch in flight).
 */
export async function stopGracefully(app: NestFastifyApplication, options: GracefulStopOptions): Promise<void> {
  const lifecycle = app.get(ServiceLifecycle);
  const server = app.getHttpServer() as Server;

  lifecycle.drain();
  // The whole drain, even with no connection open: until the load balancers notice the not-ready
  // answer, they keep this instance in their pools and open new connections to it.
  await sleep(options.drainMs);

  // Closing: new requests get 503 and Connection: close, for as long as the drain, so that clients leave
  // before the listener goes: closing it under a client that is connecting would reset that
  // connection. Then idle connections are closed; busy ones end after their response.
  lifecycle.close();
  // A moment with no connection open is no proof that every client has had its 503: one may be
  // between two connections. So the window stays open a while before it may end early.
  const window = Math.min(Math.max(options.drainMs, MIN_CLOSING_WINDOW_MS), options.timeoutMs);
  await sleep(Math.min(MIN_CLOSING_WINDOW_MS, window));
  await whileConnected(server, window - MIN_CLOSING_WINDOW_MS);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const inTime = await Promise.race([closed.then(() => true), sleep(options.timeoutMs).then(() => false)]);
  if (!inTime) {
    options.log(`requests still in flight ${options.timeoutMs} ms after the drain: closing their connections`);
    server.closeAllConnections();
  }
  await app.close();
}

/** Resolves once no connection is open, or after `ms`. */
async function whileConnected(server: Server, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && (await openConnections(server)) > 0) await sleep(POLL_MS);
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}
