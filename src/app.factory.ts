import { LoggerService, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { AppError } from './common/errors/app-error';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { Clock } from './common/time/clock';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { checkBeforeBody } from './common/http/before-body';
import { acceptJsonOrEmptyBodies } from './common/http/body-parsers';
import { CORS_VARY, corsHook } from './common/http/cors';
import { requestIdGenerator } from './common/http/request-id';
import { SecurityHeaders, securityHeaders } from './common/http/security-headers';
import { createValidationPipe } from './common/http/validation.pipe';
import { installAccessLog } from './common/logging/access-log';
import { DatabaseOutage } from './database/database.outage';
import { runMigrationsAlone } from './database/migrate';
import { buildOpenApiDocument, DOCS_PATH, serveApiDocs } from './openapi';
import { addLifecycleHooks } from './health/lifecycle.hooks';
import { ServiceLifecycle } from './health/service.lifecycle';
import { addMetricsHook } from './metrics/metrics.hooks';
import { isDashboardPath, serveDashboard } from './web/dashboard-site';
import { MetricsService } from './metrics/metrics.service';
import { carryRequestContext } from './common/logging/request-context';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface CreateAppOptions {
  logger?: LoggerService | false;
  /** Build the module graph without instantiating providers (for the OpenAPI document). */
  preview?: boolean;
  /** Extra modules mounted into the app (tests only). */
  extraModules?: Type[];
  /** The clock every part of the app reads (tests only: a fake that moves on when told). */
  clock?: Clock;
}

/** Builds the whole application: the one way the service, the tests and the benchmark get it. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const newRequestId = requestIdGenerator();
  const headers = securityHeaders();
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    logger: false,
    requestIdHeader: false,
    // No Nest middleware here: without middie, no hook runs per request to look for any.
    skipMiddie: true,
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket, newRequestId()),
    // A request that arrives while the instance stops is answered by addLifecycleHooks, in the contract's shape.
    return503OnClosing: false,
    // The router's own refusals (a broken percent-escape, an over-long path parameter) in the
    // contract's shape. No hook runs for them, so they get the API headers here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'Invalid request: a path parameter is too long' : 'Invalid request: malformed URL';
      reply.headers(headers.api).header('x-request-id', request.id).status(400).send(AppError.invalidRequest(message).toBody(request.id));
    },
    // Honour the caller's X-Request-Id when it is sane, so one id follows a request across services.
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.extraModules, options.clock), adapter, {
    logger: options.logger ?? false,
    bufferLogs: options.logger !== undefined && options.logger !== false,
    bodyParser: false,
    preview: options.preview,
    abortOnError: false,
  });
  await configureHttp(app, config, headers, options.logger);
  serveApiDocs(app, buildOpenApiDocument(app, config.http.publicUrl));
  serveDashboard(app, config);
  if (options.preview) return app;

  try {
    if (config.database.migrateOnStart) {
      // Said as it happens, not held with the rest of the start's lines until it is over: a start
      // waiting for the migration lock must say so while it waits.
      app.flushLogs();
      await runMigrationsAlone(config.database.url);
    }
    await app.init();
  } catch (error) {
    // Release what did start (the connection pool, timers) so a failed start leaves nothing running.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (oversized headers, garbage)
 * still answer in the contract's shape.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket, requestId: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const appError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('PAYLOAD_TOO_LARGE', 'Request headers are too large')
      : AppError.invalidRequest('Malformed HTTP request');
  const body = JSON.stringify(appError.toBody(requestId));
  socket.end(
    `HTTP/1.1 ${appError.statusCode} ${appError.statusCode === 413 ? 'Payload Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

/** Swagger UI's pages and assets: `/docs`, `/docs/…`, `/docs?…`. */
function isDocumentPath(url: string): boolean {
  return url.startsWith(DOCS_PATH) && (url.length === DOCS_PATH.length || url[DOCS_PATH.length] === '/' || url[DOCS_PATH.length] === '?');
}

async function configureHttp(app: NestFastifyApplication, config: AppConfig, headers: SecurityHeaders, logger: LoggerService | false | undefined): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();

  acceptJsonOrEmptyBodies(fastify);

  // The combined guard sets `user` on every authenticated request. Declared here, every request
  // object has it from the start, and all of them keep one shape.
  fastify.decorateRequest('user', null);

  // As [name, value] pairs, so that a reply walks an array rather than the keys of an object.
  const apiHeaders = Object.entries(headers.api);
  const documentHeaders = Object.entries({ ...headers.documents, ...CORS_VARY });
  // The dashboard's files are kept by caches too (its hashed assets for good).
  const dashboardHeaders = Object.entries({ ...headers.dashboard, ...CORS_VARY });

  // The fixed security headers and the request id, on every reply Fastify sends (errors, 404s,
  // preflights, the lifecycle's 503 and Swagger UI's files included). Set as the request arrives,
  // before any other hook or the route can answer, so that a header the route sets itself
  // replaces the fixed one, as the JWKS's Cache-Control does; Fastify keeps them through its
  // error handling.
  fastify.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    const fixed = isDocumentPath(url) ? documentHeaders : isDashboardPath(url) ? dashboardHeaders : apiHeaders;
    for (const [name, value] of fixed) reply.header(name, value);
    reply.header('x-request-id', request.id);
    done();
  });

  // Each request's later hooks and handler run in its context, so that every line logged for it
  // names it (src/common/logging/request-context.ts).
  carryRequestContext(fastify);
  installAccessLog(fastify, logger);

  // CORS: only a request with an Origin (a browser's) costs more than one header look-up.
  fastify.addHook(
    'onRequest',
    corsHook({
      origins: config.http.corsOrigins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
      maxAgeSeconds: 600,
    }),
  );

  addLifecycleHooks(fastify, () => app.get(ServiceLifecycle));
  addMetricsHook(fastify, () => app.get(MetricsService));
  checkBeforeBody(fastify, (type) => app.get(type));

  // Nest routes Fastify's own errors (body parsing, size limit) and unknown routes here too.
  app.useGlobalFilters(new AllExceptionsFilter(() => app.get(DatabaseOutage)));
  app.useGlobalPipes(createValidationPipe());
}
