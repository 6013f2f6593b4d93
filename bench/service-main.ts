/**
 * The service as the benchmark runs it: what `src/main.ts` does with a database already given
 * (configuration, logger, `createApp`, listen, stop on SIGTERM), plus the probe routes of
 * BenchProbeModule mounted through `createApp`'s `extraModules`.
 */
import 'reflect-metadata';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { AppLogger } from '../src/common/logging/app.logger';
import { BenchProbeModule } from './probe.module';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config, { logger: AppLogger.create(config), extraModules: [BenchProbeModule] });
  process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
  await app.listen({ port: config.http.port, host: config.http.host });
}

main().catch((error) => {
  process.stderr.write(`the benchmark's service failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
