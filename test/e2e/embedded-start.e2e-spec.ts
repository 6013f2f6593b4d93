import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { freePort } from '../support/free-port';
import { CONFIRM_REGISTRATION } from '../support/accounts';
import { isAlive } from '../../src/database/embedded-postgres';

/**
 * The service as a newcomer runs it: the compiled `dist/main.js` (built by `npm test`) with no
 * DATABASE_URL, so it starts the embedded PostgreSQL in its data folder, from a holder process in
 * a process group of its own. A killed service takes its database down with it; a crash of both
 * leaves the server running, and the next start must stop that stale server and carry on.
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

  function start(env: Record<string, string> = {}, options: { ownGroup?: boolean } = {}): ChildProcess {
    const child = spawn(process.execPath, [MAIN], {
      // A process group of its own, as a shell gives a foreground job: Ctrl-C signals the group.
      detached: options.ownGroup ?? false,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        EMBEDDED_POSTGRES_PORT: String(databasePort),
        SHUTDOWN_DRAIN_SECONDS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
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
  /** The holder process that started the server: the server's parent. */
  const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  const exitOf = (child: ChildProcess) => new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  // Up to half a minute: the server's stop writes a checkpoint, which takes seconds on a loaded
  // machine (CI runs suites side by side), and its holder only begins it once the service is gone.
  async function gone(pid: number): Promise<boolean> {
    for (let i = 0; i < 600 && isAlive(pid); i++) await sleep(50);
    return !isAlive(pid);
  }

  it('creates its cluster on first start, stops its database when killed, survives a stale server after a crash of both, and stops the database on SIGTERM', async () => {
    const killed = start();
    expect(await healthy()).toBe(200);
    const orphaned = postmasterPid();
    killed.kill('SIGKILL');
    await exitOf(killed);
    expect(await gone(orphaned)).toBe(true); // the holder saw the service go and stopped the server

    const first = start();
    expect(await healthy()).toBe(200);
    const stale = postmasterPid();
    process.kill(parentOf(stale), 'SIGKILL');
    first.kill('SIGKILL');
    await exitOf(first);
    await sleep(500);
    expect(isAlive(stale)).toBe(true); // nothing was left to stop it

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

  it('on Ctrl-C in a terminal drains first, writes what is pending, and only then stops its database, with no colour codes in a pipe', async () => {
    // Development mode logs through pino-pretty, which colours only a terminal.
    const service = start({ NODE_ENV: 'development', LOG_LEVEL: 'info' }, { ownGroup: true });
    let serviceErr = '';
    let serviceOut = '';
    service.stderr!.on('data', (chunk) => (serviceErr += chunk));
    service.stdout!.on('data', (chunk) => (serviceOut += chunk));
    expect(await healthy()).toBe(200);
    const url = `http://127.0.0.1:${port}`;
    const post = (path: string, body: object, headers: Record<string, string> = {}) =>
      fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    const email = `ctrl-c-${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    const registered = (await (await post('/auth/register', { email, password })).json()) as { user: { id: string } };
    const database = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${databasePort}/atiru` });
    await database.connect();
    try {
      await database.query(CONFIRM_REGISTRATION.replace('?', '$1'), [registered.user.id]);
      const loggedIn = await post('/auth/login', { email, password });
      expect(loggedIn.status).toBe(200);
      const { session } = (await loggedIn.json()) as { session: { access_token: string } };
      const created = await post('/auth/api-keys', { name: 'ci' }, { authorization: `Bearer ${session.access_token}` });
      expect(created.status).toBe(201);
      const { id, key } = (await created.json()) as { id: string; key: string };
      expect((await fetch(`${url}/users/me`, { headers: { 'x-api-key': key } })).status).toBe(200);
      const before = await database.query('SELECT last_used_at FROM api_keys WHERE id = $1', [id]);
      expect(before.rows[0].last_used_at).toBeNull(); // the use waits for the recorder's next flush
    } finally {
      await database.end();
    }

    const server = postmasterPid();
    process.kill(-service.pid!, 'SIGINT'); // what the terminal sends its foreground job
    expect(await exitOf(service)).toBe(0);
    expect(await gone(server)).toBe(true);
    expect(serviceErr).toBe('');
    expect(serviceOut).toContain('stopped');
    expect(serviceOut).not.toContain('\u001b[');

    // The write made during the drain is there on the next start.
    const again = start();
    expect(await healthy()).toBe(200);
    const check = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${databasePort}/atiru` });
    await check.connect();
    try {
      const after = await check.query('SELECT count(*)::int AS used FROM api_keys WHERE last_used_at IS NOT NULL');
      expect(after.rows[0].used).toBe(1);
    } finally {
      await check.end();
    }
    again.kill('SIGTERM');
    await exitOf(again);
  }, 180_000);
});
