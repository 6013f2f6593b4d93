import 'reflect-metadata';
import { createApp } from './app.factory';
import { ConfigError, developmentDefaultsInForce, loadConfig } from './config/app-config';
import { fitToHeap, processHeapFacts } from './config/heap-fit';
import { AppLogger } from './common/logging/app.logger';
import { StartRefusedError } from './common/errors/start-refused.error';
import { EmbeddedDatabase } from './database/embedded-postgres';
import { startEmbeddedPostgresInOwnGroup } from './database/embedded-postgres-process';
import { createServer } from 'node:net';
import { stopGracefully } from './health/graceful-stop';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = AppLogger.create(config);
  const root = logger.pino;
  const heap = fitToHeap(config.cache.maxBytes, processHeapFacts());
  config.cache.maxBytes = heap.cacheMaxBytes;
  for (const warning of heap.warnings) logger.warn(warning);
  const defaults = developmentDefaultsInForce(config);
  if (defaults.length > 0) {
    logger.warn('NODE_ENV is not production: running on development defaults, which a deployment must not (NODE_ENV=production refuses them)', {
      development_defaults: defaults,
    });
  }

  // Before the embedded database starts: a start that cannot listen must not touch it.
  await assertPortFree(config.http.host, config.http.port);
  let embedded: EmbeddedDatabase | undefined;
  if (!config.database.url) {
    const log = root.child({ context: 'EmbeddedPostgres' });
    log.info(`DATABASE_URL is not set: starting the embedded PostgreSQL in ${config.dataDir}`);
    embedded = await startEmbeddedPostgresInOwnGroup({ dataDir: config.dataDir, port: config.embeddedPostgresPort, log: (line) => log.debug(line) });
    config.database.url = embedded.url;
  }

  let shuttingDown = false;
  const app = await createApp(config, { logger }).catch(async (error) => {
    await embedded?.stop();
    throw error;
  });
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    root.info(`${signal} received: reporting not-ready, draining for ${config.http.drainSeconds} s, then stopping`);
    let code = 0;
    try {
      await stopGracefully(app, {
        drainMs: config.http.drainSeconds * 1000,
        timeoutMs: config.http.shutdownTimeoutSeconds * 1000,
        log: (message) => root.warn(message),
      });
    } catch (error) {
      logger.error('the application did not stop cleanly', error);
      code = 1;
    } finally {
      // Last: the application's shutdown hooks write to the database until they are done.
      await embedded?.stop();
      root.info('stopped');
      process.exit(code);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await app.listen({ port: config.http.port, host: config.http.host });
  } catch (error) {
    await app.close().catch(() => undefined);
    await embedded?.stop();
    throw error;
  }
  root.info(`Atiru Auth listening on ${config.http.publicUrl} (Swagger UI at ${config.http.publicUrl}/docs)`);
}

/** Refuses a port something else listens on (a second `npm start`, say), in one line. */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen({ host, port, exclusive: true }, resolve));
  } catch (error: any) {
    if (error?.code === 'EADDRINUSE') throw new StartRefusedError(`Port ${port} on ${host} is already in use (another Atiru Auth?): stop that process or set PORT.`);
    throw error;
  } finally {
    await new Promise((resolve) => probe.close(resolve));
  }
}

main().catch((error) => {
  const reason = error instanceof StartRefusedError ? error.message : (error?.stack ?? error);
  process.stderr.write(`Atiru Auth failed to start: ${reason}\n`);
  process.exit(1);
});
