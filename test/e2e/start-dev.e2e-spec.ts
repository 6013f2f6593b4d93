import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { builtFile } from '../support/compiled-service';
import { dataFolder, postmasterPid, stopLeftoverServer } from '../support/embedded-cluster';
import { freePort } from '../support/free-port';
import { exitOf } from '../support/processes';
import { within } from '../support/wait';
import { isAlive } from '../../src/database/embedded-postgres';

/**
 * `npm run start:dev` as a developer uses it: the launcher (built by `npm test`) runs
 * `nest start --watch` in a copy of the project, so the edit below never touches the repository.
 * The served OpenAPI summary of GET /health comes from source; it is edited in the copy and must
 * be served by the restarted service, on the same embedded PostgreSQL.
 */
const ROOT = join(__dirname, '..', '..');

/** Processes whose working folder is `dir` (the launcher, the Nest CLI, the service): what a stop must end. */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** The service the watcher runs (`node … dist/main`) in `dir`, and the CPU it has used so far, in ms. */
function serviceIn(dir: string): { pid: number; cpuMs: number } | undefined {
  for (const pid of processesIn(dir)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/main')) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return { pid, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 }; // utime + stime, in clock ticks (100 a second on Linux)
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describe('npm run start:dev (Nest CLI watch mode on the embedded PostgreSQL)', () => {
  let launcherFile: string;
  let copy: string;
  let port: number;
  let launcher: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    launcherFile = builtFile('cli/dev.js');
    copy = dataFolder('start-dev-');
    cpSync(join(ROOT, 'src'), join(copy, 'src'), { recursive: true });
    for (const file of ['nest-cli.json', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, file), join(copy, file));
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    port = await freePort();
  });

  afterAll(async () => {
    for (const pid of processesIn(copy)) process.kill(pid, 'SIGKILL');
    await stopLeftoverServer(join(copy, '.data', 'postgres'));
    rmSync(copy, { recursive: true, force: true });
  });

  async function healthSummary(): Promise<string | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/reference/openapi.json`);
      if (response.status !== 200) return undefined;
      const document: any = await response.json();
      return document.paths['/health'].get.summary;
    } catch {
      return undefined; // not listening (yet, or while restarting)
    }
  }

  async function waitFor(predicate: (summary: string | undefined) => boolean, what: string, timeoutMs = 60_000): Promise<string> {
    const { value: summary } = await within(timeoutMs, healthSummary, predicate, 50);
    if (predicate(summary)) return summary!;
    throw new Error(`${what} did not happen in ${timeoutMs} ms; the launcher said: ${output.slice(-3000)}`);
  }

  const serverPid = () => postmasterPid(join(copy, '.data', 'postgres'));

  it('serves an edit to a source file after a restart, on a database that outlives it, and stops everything, the database last, on Ctrl-C', async () => {
    const started = Date.now();
    launcher = spawn(process.execPath, [launcherFile], {
      cwd: copy,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: join(copy, '.data'),
        EMBEDDED_POSTGRES_PORT: String(await freePort()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A group of its own, signalled as a terminal signals its foreground group on Ctrl-C.
      detached: true,
    });
    launcher.stdout!.on('data', (chunk) => (output += chunk));
    launcher.stderr!.on('data', (chunk) => (output += chunk));
    const before = await waitFor((summary) => typeof summary === 'string', 'the first start');
    console.log(`start:dev: first start (fresh cluster, full SWC build, migrations) answered after ${Date.now() - started} ms`);
    const database = serverPid();
    expect(isAlive(database)).toBe(true);

    const sources = readdirSync(join(copy, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => readFileSync(join(copy, 'src', file), 'utf8').includes(`'${before}'`));
    expect(sources).toHaveLength(1);
    const source = join(copy, 'src', sources[0]);
    const edited = `${before} (edited while watching)`;
    const saved = Date.now();
    writeFileSync(source, readFileSync(source, 'utf8').replace(`'${before}'`, `'${edited}'`));
    const oldService = serviceIn(copy)!.pid;
    await waitFor((summary) => summary === edited, 'serving the edit');
    const servedAfter = Date.now() - saved;
    const service = serviceIn(copy)!;
    expect(service.pid).not.toBe(oldService);
    console.log(
      `start:dev: an edit to ${sources[0]} was served ${servedAfter} ms after it was saved; the new service used ${service.cpuMs} ms of CPU ` +
        `to start (load average ${loadavg()[0].toFixed(1)} on this machine's cores)`,
    );

    expect(serverPid()).toBe(database);
    expect(isAlive(database)).toBe(true);

    const stopping = Date.now();
    process.kill(-launcher.pid!, 'SIGINT');
    const code = await exitOf(launcher);
    console.log(`start:dev: Ctrl-C stopped the watcher, the service and the database in ${Date.now() - stopping} ms`);
    expect(code).toBe(0);
    // The database went last: the service drained without losing a connection (a warning or worse).
    expect(output.split('\n').filter((line) => /"level":(40|50|60)/.test(line))).toEqual([]);
    expect(isAlive(database)).toBe(false);
    expect(processesIn(copy)).toEqual([]);
    expect(existsSync(join(copy, '.data', 'atiru.pid'))).toBe(false);
    expect(await healthSummary()).toBeUndefined();
  }, 120_000);
});
