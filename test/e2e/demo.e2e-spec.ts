import { CompiledService, runCompiledCommand, startCompiledService } from '../support/compiled-service';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * `npm run demo` against a fresh service (the compiled `dist/main.js` on a fresh database): every
 * `curl` line it prints must answer GET /users/me for the account it created, and the printed
 * password must log in.
 */
describe('npm run demo', () => {
  let database: TestDatabase;
  let service: CompiledService;
  let env: Record<string, string>;
  let base: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startCompiledService(database.url);
    ({ env, base } = service);
  }, 90_000);

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  const runDemo = (extraEnv: Record<string, string> = {}) => runCompiledCommand('demo', [], { ...env, ...extraEnv });

  it('prints a confirmed account, an API key and curl lines that each answer /users/me', async () => {
    const started = Date.now();
    const { code, stdout, stderr } = await runDemo();
    console.log(`demo: account, login and key in ${Date.now() - started} ms`);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });

    const field = (name: string) => new RegExp(`^  ${name} +(\\S+)$`, 'm').exec(stdout)?.[1];
    const email = field('email')!;
    const password = field('password')!;
    const key = field('API key')!;
    const accessToken = field('access token')!;
    expect(email).toMatch(/^demo-[0-9a-f]{8}@example\.com$/);
    expect(key).toMatch(/^atiru_[0-9A-Za-z]{38}$/);
    expect(field('dashboard')).toBe(`${base}/dashboard/`); // the dashboard the service serves itself

    const curls = stdout.split('\n').filter((line) => line.startsWith('curl '));
    const parsed = curls.map((line) => /^curl -H '([^:']+): ([^']+)' (\S+)$/.exec(line)?.slice(1));
    expect(parsed).toEqual([
      ['Authorization', `Bearer ${accessToken}`, `${base}/users/me`],
      ['Authorization', `Bearer ${key}`, `${base}/users/me`],
      ['X-Api-Key', key, `${base}/users/me`],
    ]);
    for (const [header, value, url] of parsed as string[][]) {
      const response = await fetch(url, { headers: { [header]: value } });
      const body: any = await response.json();
      expect({ status: response.status, email: body.email, confirmed: typeof body.email_confirmed_at }).toEqual({ status: 200, email, confirmed: 'string' });
    }

    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    expect(login.status).toBe(200);
  });

  it('refuses to run with NODE_ENV=production, in one line', async () => {
    const { code, stdout, stderr } = await runDemo({ NODE_ENV: 'production' });
    expect({ code, stdout, stderr }).toEqual({ code: 1, stdout: '', stderr: 'npm run demo: refused: NODE_ENV is production. The demo account is for development databases only.\n' });
  });
});
