import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port';
import { sample } from './prometheus';
import { within } from './wait';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface CompiledServiceOptions {
  /** Options for Node itself, before the script (`--max-old-space-size=160`). */
  nodeOptions?: string[];
  env?: Record<string, string>;
  /** False: nothing reads the service's standard output until `readStdout()`, as a log collector that stopped. */
  readStdout?: boolean;
}

/** The compiled service (`dist/main.js`, built by `npm test`) in a process of its own, as an operator starts it. */
export interface CompiledService {
  base: string;
  /** The environment it was started with, for a command run against it (`npm run demo`). */
  env: Record<string, string>;
  process: ChildProcess;
  /** Its JSON log lines read so far. */
  lines(): Array<{ level: number; msg: string } & Record<string, unknown>>;
  /** Starts reading standard output, when it was left unread. */
  readStdout(): void;
  /** A sample from its metrics listener, the series named with its labels (`name{label="value"}`). */
  metric(series: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startCompiledService(databaseUrl: string, options: CompiledServiceOptions = {}): Promise<CompiledService> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run the tests with npm test, which builds first`);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH!, NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base,
    DATABASE_URL: databaseUrl, SHUTDOWN_DRAIN_SECONDS: '0', METRICS_PORT: String(metricsPort), ...options.env,
  };
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const readStdout = () => child.stdout!.on('data', (chunk) => (stdout += chunk));
  if (options.readStdout !== false) readStdout();
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const health = () => fetch(`${base}/health`).then((response) => response.status, () => 0);
  const { value: status } = await within(60_000, health, (answered) => answered === 200 || child.exitCode !== null, 100);
  if (status !== 200) {
    child.kill('SIGKILL');
    throw new Error(`the service did not start: ${stderr}${stdout}`);
  }
  return {
    base,
    env,
    process: child,
    lines: () => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)),
    readStdout,
    metric: async (series) => Number(sample(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), series)),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
