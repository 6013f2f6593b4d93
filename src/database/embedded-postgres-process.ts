import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { StartRefusedError } from '../common/errors/start-refused.error';
import { EmbeddedDatabase, EmbeddedOptions, startEmbeddedPostgres } from './embedded-postgres';

const HOLD = '--hold-embedded-postgres';

interface Started {
  url: string;
  serverUrl: string;
}

/**
 * Starts the embedded PostgreSQL from a child process that leads a process group of its own, for
 * the commands a person runs in a terminal (`npm start`, `npm run start:dev`). Ctrl-C signals the
 * whole foreground group at once; were PostgreSQL in it, it would shut down while the service is
 * still draining and flushing, and those last writes would be lost. In its own group it stops only
 * when `stop()` is called, after the service, or when this process is gone (the child's IPC
 * channel closes), so a killed service does not leave it running.
 *
 * The data folder is claimed in the name of this process, so a second start is refused with this
 * process's pid, which is the one a person can find and stop.
 */
export async function startEmbeddedPostgresInOwnGroup(options: Omit<EmbeddedOptions, 'owner'>): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const holder = spawn(process.execPath, [__filename, HOLD], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], detached: true });
  holder.on('message', (message: { log?: string }) => {
    if (message.log !== undefined) log(message.log);
  });
  const exited = once(holder, 'exit');
  holder.send({ dataDir: options.dataDir, port: options.port, database: options.database, owner: process.pid });

  const started = await new Promise<Started>((resolve, reject) => {
    holder.on('message', (message: { started?: Started; refused?: string; failed?: string }) => {
      if (message.started) resolve(message.started);
      if (message.refused) reject(new StartRefusedError(message.refused));
      if (message.failed) reject(new Error(message.failed));
    });
    void exited.then(() => reject(new Error('the embedded PostgreSQL stopped before it was ready')));
  });

  let stopping: Promise<void> | undefined;
  return {
    ...started,
    stop: () =>
      (stopping ??= (async () => {
        if (holder.exitCode !== null || holder.signalCode !== null) return;
        holder.kill('SIGTERM');
        await exited;
      })()),
  };
}

/** The child's side: start, report, and stop when told or when the parent is gone. */
async function hold(): Promise<void> {
  // The server's log lines are sent up as they come, and a killed service leaves some behind (its
  // connections reset). A send the closing channel fails must be that send's failure: without a
  // callback it is an 'error' event, which would end this process before it stops the server.
  const send = (message: object) => process.connected && process.send!(message, undefined, undefined, () => undefined);
  const [options] = (await once(process, 'message')) as [Required<Pick<EmbeddedOptions, 'dataDir' | 'port' | 'owner'>> & { database?: string }];
  let embedded: EmbeddedDatabase;
  try {
    embedded = await startEmbeddedPostgres({ ...options, log: (line) => send({ log: line }) });
  } catch (error) {
    send(error instanceof StartRefusedError ? { refused: error.message } : { failed: String((error as Error)?.message ?? error) });
    process.disconnect();
    return;
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await embedded.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('disconnect', () => void stop());
  send({ started: { url: embedded.url, serverUrl: embedded.serverUrl } });
}

if (process.argv[2] === HOLD) {
  hold().catch((error) => {
    process.stderr.write(`the embedded PostgreSQL holder failed: ${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
