import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { freePort } from '../support/free-port';
import { CONFIRM_REGISTRATION } from '../support/accounts';
import { CompiledService, CompiledServiceOptions, refusedStart, startCompiledService } from '../support/compiled-service';
import { dataFolder, gone, postmasterPid, stopLeftoverServer } from '../support/embedded-cluster';
import { exitOf } from '../support/processes';
import { isAlive } from '../../src/database/embedded-postgres';

/**
 * The service as a newcomer runs it: the compiled `dist/main.js` (built by `npm test`) with no
 * DATABASE_URL, so it starts the embedded PostgreSQL in its data folder, from a holder process in
 * a process group of its own. A killed service takes its database down with it; a crash of both
 * leaves the server running, and the next start must stop that stale server and carry on.
 */
describe('the service on its embedded PostgreSQL (npm start)', () => {
  let dataDir: string;
  let port: number;
  let databasePort: number;
  const services: CompiledService[] = [];

  beforeAll(async () => {
    dataDir = dataFolder('start-');
    port = await freePort();
    databasePort = await freePort();
  });

  afterAll(async () => {
    for (const service of services) if (service.process.exitCode === null) service.process.kill('SIGKILL');
    await stopLeftoverServer(join(dataDir, 'postgres'));
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** With no DATABASE_URL: on the embedded PostgreSQL in the data folder, on the same ports each time unless `options` say otherwise. */
  const embedded = (options: CompiledServiceOptions = {}): CompiledServiceOptions => ({
    port,
    ...options,
    env: { DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(databasePort), ...options.env },
  });

  async function start(options: CompiledServiceOptions = {}): Promise<CompiledService> {
    const service = await startCompiledService(undefined, embedded(options));
    services.push(service);
    return service;
  }

  const serverPid = () => postmasterPid(join(dataDir, 'postgres'));
  /** The holder process that started the server: the server's parent. */
  const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  // Up to half a minute: the server's stop writes a checkpoint, which takes seconds on a loaded
  // machine (CI runs suites side by side), and its holder only begins it once the service is gone.
  const stopped = (pid: number) => gone(pid, 30_000);

  it('creates its cluster on first start, stops its database when killed, survives a stale server after a crash of both, and stops the database on SIGTERM', async () => {
    const killed = await start();
    const orphaned = serverPid();
    killed.process.kill('SIGKILL');
    await exitOf(killed.process);
    expect(await stopped(orphaned)).toBe(true); // the holder saw the service go and stopped the server

    const first = await start();
    const stale = serverPid();
    process.kill(parentOf(stale), 'SIGKILL');
    first.process.kill('SIGKILL');
    await exitOf(first.process);
    await sleep(500);
    expect(isAlive(stale)).toBe(true); // nothing was left to stop it

    const second = await start();
    expect(isAlive(stale)).toBe(false);
    const fresh = serverPid();
    expect(fresh).not.toBe(stale);

    expect({ code: await second.stop(), stderr: second.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(await gone(fresh, 5_000)).toBe(true);
  }, 180_000);

  it('refuses a second start on the same data folder or port in one line, and leaves the running instance alone', async () => {
    const first = await start();
    const running = serverPid();

    // Same data folder, another HTTP port: the first instance's database is not touched.
    const sameData = await refusedStart(undefined, embedded({ port: await freePort() }));
    expect(sameData.code).toBe(1);
    expect(sameData.stderr).toMatch(new RegExp(`^Atiru Auth failed to start: The embedded PostgreSQL in \\S+ belongs to a running process \\(pid ${first.process.pid}\\)`));
    expect(sameData.stderr.split('\n')).toHaveLength(1);

    // Same HTTP port, another data folder: refused before any database starts there.
    const otherData = dataFolder('start-other-');
    try {
      const samePort = await refusedStart(undefined, embedded({ env: { DATA_DIR: otherData, EMBEDDED_POSTGRES_PORT: String(await freePort()) } }));
      expect(samePort).toEqual({ code: 1, stderr: `Atiru Auth failed to start: Port ${port} on 127.0.0.1 is already in use (another Atiru Auth?): stop that process or set PORT.` });
      expect(existsSync(join(otherData, 'postgres'))).toBe(false);
    } finally {
      rmSync(otherData, { recursive: true, force: true });
    }

    expect(serverPid()).toBe(running);
    expect(isAlive(running)).toBe(true);
    expect((await fetch(`${first.base}/health`)).status).toBe(200);
    await first.stop();
  }, 180_000);

  it('on Ctrl-C in a terminal drains first, writes what is pending, and only then stops its database, with no colour codes in a pipe', async () => {
    // Development mode logs through pino-pretty, which colours only a terminal.
    const service = await start({ env: { NODE_ENV: 'development', LOG_LEVEL: 'info' }, detached: true });
    const url = service.base;
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

    const server = serverPid();
    process.kill(-service.process.pid!, 'SIGINT'); // what the terminal sends its foreground job
    expect(await exitOf(service.process)).toBe(0);
    expect(await stopped(server)).toBe(true);
    expect(service.stderr()).toBe('');
    expect(service.stdout()).toContain('stopped');
    expect(service.stdout()).not.toContain('\u001b[');

    // The write made during the drain is there on the next start.
    const again = await start();
    const check = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${databasePort}/atiru` });
    await check.connect();
    try {
      const after = await check.query('SELECT count(*)::int AS used FROM api_keys WHERE last_used_at IS NOT NULL');
      expect(after.rows[0].used).toBe(1);
    } finally {
      await check.end();
    }
    await again.stop();
  }, 180_000);
});
