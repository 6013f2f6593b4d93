import { ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../config/app-config';
import { createRootLogger } from '../common/logging/logger';
import { EmbeddedDatabase, startEmbeddedPostgres, StartRefusedError } from '../database/embedded-postgres';

/** How long the watcher and the service get to stop before they are killed. */
const STOP_GRACE_MS = 15_000;

/**
 * `npm run start:dev`: the service in the Nest CLI's watch mode on a database that outlives its
 * restarts. Without DATABASE_URL it claims and starts the embedded PostgreSQL once, then runs
 * `nest start --watch` pointed at it; on SIGINT or SIGTERM it stops the watcher and the service,
 * and only then the database, so the service's last queries still have it.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createRootLogger(config).child({ context: 'DevLauncher' });

  let embedded: EmbeddedDatabase | undefined;
  if (!config.database.url) {
    log.info(`starting the embedded PostgreSQL in ${config.dataDir}; it runs until this command stops`);
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
  }

  const nest = require.resolve('@nestjs/cli/bin/nest.js');
  // Its own process group: the watcher and every service it restarts are signalled together, and
  // the database is stopped only when the whole group is gone.
  const watcher = spawn(process.execPath, [nest, 'start', '--watch', '--no-shell', ...process.argv.slice(2)], {
    env: embedded ? { ...process.env, DATABASE_URL: embedded.url } : process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });

  let stopping: Promise<void> | undefined;
  const stop = (reason: string, exitCode: number) =>
    (stopping ??= (async () => {
      log.info(`${reason}: stopping the watcher and the service${embedded ? ', then the embedded PostgreSQL' : ''}`);
      try {
        await stopGroup(watcher);
      } finally {
        await embedded?.stop();
        process.exit(exitCode);
      }
    })());
  process.on('SIGINT', () => void stop('SIGINT received', 0));
  process.on('SIGTERM', () => void stop('SIGTERM received', 0));
  watcher.once('exit', (code) => void stop(`the watcher exited (${code})`, code ?? 1));
}

/** SIGTERM to the watcher's process group, then waits until none of it is left (SIGKILL after the grace). */
async function stopGroup(watcher: ChildProcess): Promise<void> {
  const group = -watcher.pid!;
  if (!signal(group, 'SIGTERM')) return;
  for (let waited = 0; waited < STOP_GRACE_MS; waited += 50) {
    if (!signal(group, 0)) return;
    await sleep(50);
  }
  signal(group, 'SIGKILL');
}

/** Sends `sig` to a process group; false when the group has no process left. */
function signal(group: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(group, sig);
    return true;
  } catch (error: any) {
    if (error?.code === 'ESRCH') return false;
    throw error;
  }
}

main().catch((error) => {
  const oneLine = error instanceof StartRefusedError || error instanceof ConfigError;
  process.stderr.write(`npm run start:dev failed: ${oneLine ? error.message : (error?.stack ?? error)}\n`);
  process.exit(1);
});
