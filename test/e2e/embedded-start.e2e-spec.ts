import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/free-port';
import { isAlive } from '../../src/database/embedded-postgres';

/**
 * The service as a newcomer runs it: the compiled `dist/main.js` (built by `npm test`) with no
 * DATABASE_URL, so it starts the embedded PostgreSQL in its data folder. Killed with SIGKILL it
 * leaves that server running; the next start must stop the stale server and carry on.
 */
const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

describe('the service on its embedded PostgreSQL (npm start)', () => {
  let dataDir: string;
  let port: number;
  let databasePort: number;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run the tests with npm test, which builds first`);
    // Under the repository, so that the postgres user can reach it when the tests run as root.
    const parent = join(__dirname, '..', '..', '.data');
    mkdirSync(parent, { recursive: true });
    dataDir = mkdtempSync(join(parent, 'start-'));
    chmodSync(dataDir, 0o755); // mkdtemp makes it 0700

    port = await freePort();
    databasePort = await freePort();
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (isAlive(pid)) process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  let output = '';

  function start(env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        EMBEDDED_POSTGRES_PORT: String(databasePort),
        SHUTDOWN_DRAIN_SECONDS: '1',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (chunk) => (output += chunk));
    children.push(child);
    return child;
  }

  async function healthy(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        if (response.status === 200) return response.status;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`the service did not become healthy; it said: ${output.slice(-2000)}`);
  }

  const postmasterPid = () => Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);

  it('creates its cluster on first start, survives a stale server after SIGKILL, and stops the database on SIGTERM', async () => {
    const first = start();
    expect(await healthy()).toBe(200);
    const stale = postmasterPid();
    expect(isAlive(stale)).toBe(true);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(isAlive(stale)).toBe(true); // the killed process left its database running

    const second = start();
    let stderr = '';
    second.stderr!.on('data', (chunk) => (stderr += chunk));
    expect(await healthy()).toBe(200);
    expect(isAlive(stale)).toBe(false);
    const fresh = postmasterPid();
    expect(fresh).not.toBe(stale);

    second.kill('SIGTERM');
    const code = await new Promise((resolve) => second.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    for (let i = 0; i < 100 && isAlive(fresh); i++) await sleep(50);
    expect(isAlive(fresh)).toBe(false);
  }, 180_000);

  it('refuses a second start on the same data folder or port in one line, and leaves the running instance alone', async () => {
    const first = start();
    expect(await healthy()).toBe(200);
    const running = postmasterPid();

    const exitOf = async (child: ChildProcess) => {
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      return { code, stderr: stderr.trim() };
    };
    // Same data folder, another HTTP port: the first instance's database is not touched.
    const sameData = await exitOf(start({ PORT: String(await freePort()) }));
    expect(sameData.code).toBe(1);
    expect(sameData.stderr).toMatch(new RegExp(`^Atiru Auth failed to start: The embedded PostgreSQL in \\S+ belongs to a running process \\(pid ${first.pid}\\)`));
    expect(sameData.stderr.split('\n')).toHaveLength(1);

    // Same HTTP port, another data folder: refused before any database starts there.
    const otherData = mkdtempSync(join(dataDir, '..', 'start-other-'));
    chmodSync(otherData, 0o755);
    try {
      const samePort = await exitOf(start({ DATA_DIR: otherData, EMBEDDED_POSTGRES_PORT: String(await freePort()) }));
      expect(samePort).toEqual({ code: 1, stderr: `Atiru Auth failed to start: Port ${port} on 127.0.0.1 is already in use (another Atiru Auth?): stop that process or set PORT.` });
      expect(existsSync(join(otherData, 'postgres'))).toBe(false);
    } finally {
      rmSync(otherData, { recursive: true, force: true });
    }

    expect(postmasterPid()).toBe(running);
    expect(isAlive(running)).toBe(true);
    expect(await healthy()).toBe(200);
    first.kill('SIGTERM');
    await new Promise((resolve) => first.once('exit', resolve));
  }, 180_000);
});
