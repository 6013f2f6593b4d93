import 'reflect-metadata';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';
import { AppLogger, createRootLogger } from './common/logging/logger';
import { EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';

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
  const root = createRootLogger(config);
  const logger = new AppLogger(root);

  let embedded: EmbeddedDatabase | undefined;
  if (!config.database.url) {
    const log = root.child({ context: 'EmbeddedPostgres' });
    log.info(`DATABASE_URL is not set: starting the embedded PostgreSQL in ${config.dataDir}`);
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, log: (line) => log.debug(line) });
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
    root.info(`${signal} received: draining and stopping`);
    try {
      await app.close();
    } finally {
      await embedded?.stop();
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await app.listen({ port: config.http.port, host: config.http.host });
  root.info(`Atiru Auth listening on ${config.http.publicUrl} (Swagger UI at ${config.http.publicUrl}/docs)`);
}

main().catch((error) => {
  process.stderr.write(`Atiru Auth failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
