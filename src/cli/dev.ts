import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../config/app-config';
import { AppLogger } from '../common/logging/app.logger';
import { StartRefusedError } from '../common/errors/start-refused.error';
import { EmbeddedDatabase } from '../database/embedded-postgres';
import { startEmbeddedPostgresInOwnGroup } from '../database/embedded-postgres-process';

/** How long the watcher and the service get to stop before they are killed. */
const STOP_GRACE_MS = 15_000;

/**
 * `npm run start:dev`: the service in the Nest CLI's watch mode on a database that outlives its
 * restarts. Without DATABASE_URL the embedded PostgreSQL is claimed and started once, then
 * `nest start --watch` runs pointed at it; on SIGINT or SIGTERM the watcher and the service stop
 * first, and the database only after them, so the service's last queries still have it.
 *
 * The watcher runs in a process group of its own, as the database does
 * (embedded-postgres-process.ts): Ctrl-C in a terminal signals the whole foreground group at once,
 * and the launcher decides the order instead.
 */
async function launch(): Promise<void> {
  const config = loadConfig();
  const log = AppLogger.create(config).pino.child({ context: 'DevLauncher' });

  let database: EmbeddedDatabase | undefined;
  if (!config.database.url) {
    log.info(`starting the embedded PostgreSQL in ${config.dataDir}; it runs until this command stops`);
    const databaseLog = log.child({ context: 'EmbeddedPostgres' });
    database = await startEmbeddedPostgresInOwnGroup({ dataDir: config.dataDir, port: config.embeddedPostgresPort, log: (line) => databaseLog.debug(line) });
  }

  const nest = require.resolve('@nestjs/cli/bin/nest.js');
  // The whole group is signalled together: the CLI and the service it last restarted.
  const watcher = spawn(process.execPath, [nest, 'start', '--watch', '--no-shell', ...process.argv.slice(2)], {
    env: {
      // A restart has no load balancer to tell: the old service stops at once unless this is set.
      SHUTDOWN_DRAIN_SECONDS: '0',
      ...process.env,
      ...(database ? { DATABASE_URL: database.url } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });

  let stopping: Promise<void> | undefined;
  const stop = (reason: string, exitCode: number) =>
    (stopping ??= (async () => {
      log.info(`${reason}: stopping the watcher and the service${database ? ', then the embedded PostgreSQL' : ''}`);
      try {
        await stopGroup(watcher.pid!);
      } finally {
        await database?.stop();
        process.exit(exitCode);
      }
    })());
  process.on('SIGINT', () => void stop('SIGINT received', 0));
  process.on('SIGTERM', () => void stop('SIGTERM received', 0));
  process.on('SIGHUP', () => void stop('SIGHUP received', 0));
  watcher.once('exit', (code) => void stop(`the watcher exited (${code})`, code ?? 1));
}

/** SIGTERM to a process group, then waits until none of it is left (SIGKILL after the grace). */
async function stopGroup(leader: number): Promise<void> {
  if (!signalGroup(leader, 'SIGTERM')) return;
  for (let waited = 0; waited < STOP_GRACE_MS; waited += 50) {
    if (!signalGroup(leader, 0)) return;
    await sleep(50);
  }
  signalGroup(leader, 'SIGKILL');
}

/** Sends `signal` to the process group `leader` leads; false when no process of it is left. */
function signalGroup(leader: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-leader, signal);
    return true;
  } catch (error: any) {
    if (error?.code === 'ESRCH') return false;
    throw error;
  }
}

launch().catch((error) => {
  const oneLine = error instanceof StartRefusedError || error instanceof ConfigError;
  process.stderr.write(`npm run start:dev failed: ${oneLine ? error.message : (error?.stack ?? error)}\n`);
  process.exit(1);
});
