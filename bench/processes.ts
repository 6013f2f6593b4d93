import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { RATE_LIMIT_DEFAULTS } from '../src/config/app-config';
import { ensureDatabase, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import type { ChildWrapper } from './callgrind';
import { ProcessSnapshot, ReadyMessage, requestCollection, requestSnapshot, ServiceSnapshot, switchCounting } from './ipc';

/** The repository root: compiled, this file sits in dist/bench/bench/. */
export const ROOT = join(__dirname, '..', '..', '..');

export interface BenchDatabase {
  /** URL of the fresh database the service runs on. */
  url: string;
  /** e.g. "PostgreSQL 18.1 (embedded)". */
  description: string;
  close(): Promise<void>;
}

/**
 * A fresh database for this run: on the server DATABASE_URL names, or on an embedded PostgreSQL
 * kept in `.data/bench` on a free port. It is dropped again at the end.
 */
export async function startDatabase(): Promise<BenchDatabase> {
  const name = `atiru_bench_${randomBytes(4).toString('hex')}`;
  const external = process.env.DATABASE_URL;
  let serverUrl: string;
  let stopServer = async () => undefined as void;
  if (external) {
    serverUrl = external;
  } else {
    const embedded = await startEmbeddedPostgres({ dataDir: join(ROOT, '.data', 'bench'), port: await freePort(), database: name });
    serverUrl = embedded.serverUrl;
    stopServer = () => embedded.stop();
  }
  try {
    await ensureDatabase(serverUrl, name);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const version = await query<{ server_version: string }>(serverUrl, 'SHOW server_version');
    return {
      url: url.toString(),
      description: `PostgreSQL ${version[0].server_version.split(' ')[0]} (${external ? 'DATABASE_URL' : 'embedded'})`,
      async close() {
        try {
          await query(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await stopServer();
        }
      },
    };
  } catch (error) {
    await stopServer();
    throw error;
  }
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * The service's rate limits (`RATE_LIMIT_<NAME>=limit/seconds`) set out of reach: one client on
 * loopback trips them at once, and the benchmark measures the work, counting included.
 */
const RATE_LIMITS_OUT_OF_REACH = Object.fromEntries(
  Object.keys(RATE_LIMIT_DEFAULTS).map((name) => [`RATE_LIMIT_${name.toUpperCase()}`, '1000000000/60']),
);

/** One per run: every instance the run starts on its database must open the same signing keys. */
const SIGNING_SECRET = randomBytes(32).toString('base64url');

export interface ChildServer<S extends ProcessSnapshot = ProcessSnapshot> {
  process: ChildProcess;
  baseUrl: string;
  snapshot(): Promise<S>;
  /** A full garbage collection in the child; resolves once it is done. */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceServer extends ChildServer<ServiceSnapshot> {
  /** Switches the preload's SQL counting on or off; resolves once the service has done it. */
  countSql(on: boolean): Promise<void>;
  /** The level the service logs at: `info` unless the caller's LOG_LEVEL says otherwise. */
  logLevel: string;
  /** The access lines the service has written so far (log-sink.ts counts them). */
  accessLines(): Promise<number>;
}

export interface ServiceOptions {
  databaseUrl: string;
  /** Where the service delivers its mail: the benchmark's sink. */
  smtpUrl: string;
  /** The service's own log goes here rather than to the terminal, without its access lines (log-sink.ts). */
  logFile: string;
  /** Shared rate-limit counts in this Redis, as in a multi-instance deployment. */
  redisUrl?: string;
  /** Runs the service's Node under this program (callgrind, for `npm run bench:instructions`). */
  wrapper?: ChildWrapper;
}

/** The client the introspection scenarios authenticate as; the service is started with it in INTROSPECTION_CLIENTS. */
export const INTROSPECTION_CLIENT = { id: 'bench', secret: randomBytes(32).toString('base64url') };

/**
 * The built service (`service-main.js`: the app with the benchmark's probe routes) in a child process, with the benchmark's preload that counts
 * SQL statements when asked to and answers over IPC. It runs as in production (JSON logs at
 * `info`, an access line per request, to a process that reads them; mail over SMTP; a real
 * signing-key secret), with rate limits out of reach; the caller's environment overrides those
 * defaults, but not the address, the database or the mail sink.
 */
export async function startService(options: ServiceOptions): Promise<ServiceServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  mkdirSync(dirname(options.logFile), { recursive: true });
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    SIGNING_KEY_ENCRYPTION_SECRET: SIGNING_SECRET,
    ...RATE_LIMITS_OUT_OF_REACH,
    INTROSPECTION_CLIENTS: `${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`,
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: baseUrl,
    DATABASE_URL: options.databaseUrl,
    SMTP_URL: options.smtpUrl,
    REDIS_URL: options.redisUrl ?? '',
  };
  const sink = fork(join(__dirname, 'log-sink.js'), [options.logFile], { cwd: ROOT, stdio: ['pipe', 'inherit', 'inherit', 'ipc'] });
  const child = fork(join(__dirname, 'service-main.js'), [], {
    cwd: ROOT,
    // BENCH_SERVICE_NODE_ARGS adds Node flags to the service only, e.g. "--cpu-prof --cpu-prof-dir=.data/profiles".
    ...nodeUnder(options.wrapper, ['--require', join(__dirname, 'sql-counters.js'), ...(process.env.BENCH_SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? [])]),
    env,
    stdio: ['ignore', sink.stdin!, sink.stdin!, 'ipc'],
  });
  // The service holds the pipe's writing end now; the sink ends once the service has exited.
  sink.stdin!.destroy();
  child.once('exit', () => sink.connected && sink.disconnect());
  const server: ServiceServer = {
    ...childServer<ServiceSnapshot>(child, baseUrl),
    countSql: (on) => switchCounting(child, on),
    logLevel: env.LOG_LEVEL ?? 'info',
    accessLines: () => countAccessLines(sink),
  };
  try {
    // Under callgrind, even uninstrumented, the start takes several times as long.
    await waitUntil(child, async () => (await fetch(`${baseUrl}/health`)).status === 200, options.wrapper ? 300_000 : 60_000);
  } catch (error) {
    await server.stop();
    throw new Error(`The service did not become healthy: ${(error as Error).message}\n--- ${options.logFile} (end) ---\n${tail(options.logFile)}`, { cause: error });
  }
  return server;
}

/** The access lines the log sink has counted so far. */
function countAccessLines(sink: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type?: string; count?: number }) => {
      if (message?.type !== 'bench:access-lines') return;
      sink.off('message', onMessage);
      resolve(message.count ?? 0);
    };
    sink.on('message', onMessage);
    sink.send({ type: 'bench:access-lines' }, (error) => error && reject(error));
  });
}

/**
 * A hello-world server in its own process: bare Fastify (the baseline), or a minimal Nest
 * application on the same adapter (the framework's floor, plain-nest-server.ts).
 */
export async function startBaseline(kind: 'bare-fastify' | 'plain-nest' = 'bare-fastify', wrapper?: ChildWrapper): Promise<ChildServer> {
  const file = kind === 'plain-nest' ? 'plain-nest-server.js' : 'baseline-server.js';
  const child = fork(join(__dirname, file), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...nodeUnder(wrapper, process.execArgv) });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited with code ${code}`)));
    child.on('message', (message) => {
      const ready = message as Partial<ReadyMessage>;
      if (ready?.type === 'bench:ready' && typeof ready.port === 'number') resolve(ready.port);
    });
  });
  return childServer(child, `http://127.0.0.1:${port}`);
}

/**
 * fork's program and its arguments: Node with `nodeArgs`, or, wrapped, the wrapper's command with
 * its arguments, then Node and `nodeArgs` (fork puts the script after them).
 */
function nodeUnder(wrapper: ChildWrapper | undefined, nodeArgs: string[]): { execPath?: string; execArgv: string[] } {
  return wrapper ? { execPath: wrapper.command, execArgv: [...wrapper.args, process.execPath, ...nodeArgs] } : { execArgv: nodeArgs };
}

function childServer<S extends ProcessSnapshot>(child: ChildProcess, baseUrl: string): ChildServer<S> {
  return {
    process: child,
    baseUrl,
    snapshot: () => requestSnapshot<S>(child),
    collectGarbage: () => requestCollection(child),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntil(child: ChildProcess, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    try {
      if (await ready()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms (${String(lastError ?? 'not ready')})`);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A TCP port nobody listens on right now, for the servers the benchmark starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().unref().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
