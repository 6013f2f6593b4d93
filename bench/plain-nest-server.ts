/**
 * The framework's floor: a minimal Nest application on the same Fastify adapter as the service,
 * with one controller answering `GET /hello` as the bare baseline does, and nothing else (no
 * guard, hook, pipe, filter or log line), in its own process. What it costs a request above bare
 * Fastify is Nest's own; what the service's open probe route costs above it is the service's.
 * Reports its port and answers snapshots over IPC as baseline-server.ts does.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { answerCollections, answerSnapshots, processSnapshot, ReadyMessage } from './ipc';

@Controller()
class HelloController {
  @Get('hello')
  hello(): { hello: string } {
    return { hello: 'world' };
  }
}

@Module({ controllers: [HelloController] })
class PlainNestModule {}

async function main(): Promise<void> {
  // What the service turns off too: no middleware (without middie, no hook per request looks for
  // any), no body parsers.
  const adapter = new FastifyAdapter({ logger: false, skipMiddie: true });
  const app = await NestFactory.create<NestFastifyApplication>(PlainNestModule, adapter, { logger: false, bodyParser: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.getHttpServer().address() as { port: number };
  answerSnapshots(processSnapshot);
  answerCollections();
  process.send?.({ type: 'bench:ready', port } satisfies ReadyMessage);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
