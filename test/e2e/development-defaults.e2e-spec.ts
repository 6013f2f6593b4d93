import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/free-port';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { waitUntil } from '../support/wait';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * A deployment that sets its database, mail and public address but forgets NODE_ENV=production
 * starts on development defaults (the placeholder signing-key secret, a localhost front-end
 * allowed to receive mailed tokens); the start says so, at warn, which a deployment's logs show.
 */
describe('the service started without NODE_ENV=production', () => {
  let database: TestDatabase;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run the tests with npm test, which builds first`);
    database = await createTestDatabase();
  });

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await database?.drop();
  });

  it('says at warn which development defaults it runs on, before it serves', async () => {
    const port = await freePort();
    let output = '';
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: database.url,
        PUBLIC_URL: 'https://auth.atiru.test',
        SMTP_URL: 'smtp://127.0.0.1:9',
        PORT: String(port),
        HOST: '127.0.0.1',
        METRICS_PORT: '',
        LOG_LEVEL: 'warn',
        SHUTDOWN_DRAIN_SECONDS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200, 'the service to answer /health', 60_000);

    expect(output).toContain('NODE_ENV is not production: running on development defaults');
    expect(output).toContain('SIGNING_KEY_ENCRYPTION_SECRET is a placeholder');
    expect(output).toContain('mailed links may send their tokens to http://localhost:5173 (REDIRECT_ALLOW_LIST)');
    expect(output).not.toContain('(SMTP_URL)');
    expect(output).not.toContain('(PUBLIC_URL)');
  });
});
