/**
 * The baseline: a bare Fastify hello-world, the same Fastify the service runs on (resolved from
 * @nestjs/platform-fastify), in its own process. Reports its port over IPC once listening, and
 * answers snapshot requests with its CPU time, which the service's is held against.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { dirname } from 'node:path';
import { answerCollections, answerSnapshots, processSnapshot, ReadyMessage } from './ipc';

type FastifyFactory = (options?: FastifyServerOptions) => FastifyInstance;

export function loadServiceFastify(): { fastify: FastifyFactory; version: string } {
  const adapter = dirname(require.resolve('@nestjs/platform-fastify'));
  const entry = require.resolve('fastify', { paths: [adapter] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fastify = require(entry) as FastifyFactory;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require(require.resolve('fastify/package.json', { paths: [adapter] })) as { version: string };
  return { fastify, version };
}

async function main(): Promise<void> {
  const app = loadServiceFastify().fastify({ logger: false });
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  answerSnapshots(processSnapshot);
  answerCollections();
  process.send?.({ type: 'bench:ready', port } satisfies ReadyMessage);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
