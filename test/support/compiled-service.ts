import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { exitOf } from './processes';
import { sample } from './prometheus';
import { within } from './wait';

/** How long a start may take, to its first answer from `/health` or to its refusal. */
const START_TIMEOUT_MS = 60_000;

/** What every process the tests start from the build runs in, unless told otherwise. */
const TEST_ENV = { PATH: process.env.PATH!, NODE_ENV: 'test', LOG_LEVEL: 'warn' };

/** A file of the build (`npm test` builds first), by its path under `dist/`; throws when it is missing. */
export function builtFile(path: string): string {
  const file = join(__dirname, '..', '..', 'dist', path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run the tests with npm test, which builds first`);
  return file;
}

export interface CompiledServiceOptions {
  /** Options for Node itself, before the script (`--max-old-space-size=160`). */
  nodeOptions?: string[];
  /** Variables over the defaults; `undefined` unsets one (NODE_ENV, as a deployment that forgot it). */
  env?: Record<string, string | undefined>;
  /** Listen on this port (the one an earlier start used, say); a free one otherwise. */
  port?: number;
  /** A process group of its own, as a shell gives a foreground job: Ctrl-C signals the group (`process.kill(-pid, 'SIGINT')`). */
  detached?: boolean;
  /** False: nothing reads the service's standard output until `readStdout()`, as a log collector that stopped. */
  readStdout?: boolean;
}

/** The compiled service (`dist/main.js`, built by `npm test`) in a process of its own, as an operator starts it. */
export interface CompiledService {
  port: number;
  base: string;
  /** The environment it was started with, for a command run against it (`npm run demo`). */
  env: Record<string, string>;
  process: ChildProcess;
  /** What it wrote to standard output so far (what was read of it), and to standard error. */
  stdout(): string;
  stderr(): string;
  /** Its JSON log lines read so far. */
  lines(): Array<{ level: number; msg: string } & Record<string, unknown>>;
  /** Starts reading standard output, when it was left unread. */
  readStdout(): void;
  /** A sample from its metrics listener, the series named with its labels (`name{label="value"}`). */
  metric(series: string): Promise<number>;
  /** Sends SIGTERM, unless it has ended already, and answers how it ended. */
  stop(): Promise<number | NodeJS.Signals>;
}

/**
 * Starts the service on `databaseUrl` (none: the embedded PostgreSQL in DATA_DIR) and answers it
 * once `/health` answers 200; throws, with what it wrote, when it ends or stays silent before.
 */
export async function startCompiledService(databaseUrl: string | undefined, options: CompiledServiceOptions = {}): Promise<CompiledService> {
  const { child, port, base, env, metricsPort, stdout, stderr, readStdout } = await launch(databaseUrl, options);
  const health = () => fetch(`${base}/health`).then((response) => response.status, () => 0);
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const { value: status } = await within(START_TIMEOUT_MS, health, (answered) => answered === 200 || ended(), 100);
  if (status !== 200) {
    child.kill('SIGKILL');
    throw new Error(`the service did not start: ${stderr()}${stdout()}`);
  }
  return {
    port,
    base,
    env,
    process: child,
    stdout,
    stderr,
    lines: () => stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)),
    readStdout,
    metric: async (series) => Number(sample(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), series)),
    stop: () => {
      if (!ended()) child.kill('SIGTERM');
      return exitOf(child);
    },
  };
}

/**
 * A start that must fail (a port or a data folder in use): waits for the process to end and
 * answers its exit code and what it wrote to standard error, trimmed. Throws when it still runs
 * after the time a start may take.
 */
export async function refusedStart(databaseUrl: string | undefined, options: CompiledServiceOptions = {}): Promise<{ code: number | NodeJS.Signals; stderr: string }> {
  const { child, stdout, stderr } = await launch(databaseUrl, { ...options, readStdout: true });
  let stillRunning = false;
  const timer = setTimeout(() => {
    stillRunning = true;
    child.kill('SIGKILL');
  }, START_TIMEOUT_MS);
  // On 'close', not 'exit': its output has ended, so the last line it wrote has been read.
  const code = await new Promise<number | NodeJS.Signals>((resolve) => child.once('close', (exitCode, signal) => resolve(exitCode ?? signal!)));
  clearTimeout(timer);
  if (stillRunning) throw new Error(`the start was to fail, and the service still ran: ${stderr()}${stdout()}`);
  return { code, stderr: stderr().trim() };
}

/**
 * A command of the build (`npm run mail:resend -- …` runs `dist/cli/mail-resend.js`), run to its
 * end with `env` over the tests' environment: how it ended and what it wrote.
 */
export function runCompiledCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [builtFile(`cli/${command}.js`), ...args], { env: { ...TEST_ENV, ...env }, timeout: options.timeoutMs }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error) => ({ code: error.code ?? error.signal, stdout: error.stdout as string, stderr: error.stderr as string }),
  );
}

/** The service's process, with its environment and its output collected as it comes; not yet waited for. */
async function launch(databaseUrl: string | undefined, options: CompiledServiceOptions) {
  const main = builtFile('main.js');
  const [port, metricsPort] = [options.port ?? (await freePort()), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const env = withoutUnset({
    ...TEST_ENV, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base,
    DATABASE_URL: databaseUrl, SHUTDOWN_DRAIN_SECONDS: '0', METRICS_PORT: String(metricsPort), ...options.env,
  });
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), main], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  let stdout = '';
  let stderr = '';
  const readStdout = () => child.stdout!.on('data', (chunk) => (stdout += chunk));
  if (options.readStdout !== false) readStdout();
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return { child, port, base, env, metricsPort, readStdout, stdout: () => stdout, stderr: () => stderr };
}

function withoutUnset(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
