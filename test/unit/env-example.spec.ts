import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, RATE_LIMIT_DEFAULTS } from '../../src/config/app-config';

const FILE = join(__dirname, '..', '..', '.env.example');
const NAMES = readFileSync(FILE, 'utf8')
  .split('\n')
  // A variable left commented out (`# PUBLIC_URL=…`) is listed too: its default is shown, not set.
  .map((line) => /^(?:# )?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
  .filter((name): name is string => name !== undefined);

/** The variables as a program started with `env` sees them: only the file's, nothing inherited. */
function read(command: string, args: string[]): Record<string, string> {
  const printed = execFileSync(command, args, { env: { PATH: process.env.PATH }, encoding: 'utf8' });
  const all = JSON.parse(printed) as Record<string, string>;
  return Object.fromEntries(NAMES.map((name) => [name, all[name]]));
}

const PRINT_ENV = 'process.stdout.write(JSON.stringify(process.env))';

describe('.env.example', () => {
  it('is read by these checks: its variable names are found', () => {
    expect(NAMES).toEqual(expect.arrayContaining(['NODE_ENV', 'DATABASE_URL', 'MAIL_FROM', 'RATE_LIMIT_LOGIN_IP']));
  });

  it('loads with `node --env-file` and with a POSIX shell (`set -a; . ./.env.example`) to the same values', () => {
    const fromNode = read(process.execPath, [`--env-file=${FILE}`, '-e', PRINT_ENV]);
    const fromShell = read('sh', ['-c', `set -a; . "${FILE}"; exec "${process.execPath}" -e '${PRINT_ENV}'`]);
    expect(fromShell).toEqual(fromNode);
    expect(fromNode.MAIL_FROM).toBe('Atiru <no-reply@atiru.local>');
    expect(fromNode.DATABASE_URL).toBe('');
  });

  it('lists every variable the configuration reads', () => {
    const source = readFileSync(join(__dirname, '..', '..', 'src', 'config', 'app-config.ts'), 'utf8');
    const read = [...source.matchAll(/read\.\w+\('([A-Z][A-Z0-9_]*)'/g)].map((match) => match[1]);
    const rateLimits = Object.keys(RATE_LIMIT_DEFAULTS).map((name) => `RATE_LIMIT_${name.toUpperCase()}`);
    expect(read.length).toBeGreaterThan(20);
    expect([...new Set([...read, ...rateLimits])].filter((name) => !NAMES.includes(name))).toEqual([]);
  });

  it('is a configuration the service accepts as it is', () => {
    const values = read(process.execPath, [`--env-file=${FILE}`, '-e', PRINT_ENV]);
    expect(() => loadConfig(values)).not.toThrow();
  });

  it('with production\'s required values filled in, is one production accepts: it sets no localhost origin, which production refuses', () => {
    const values = Object.fromEntries(Object.entries(read(process.execPath, [`--env-file=${FILE}`, '-e', PRINT_ENV])).filter(([, value]) => value !== undefined));
    const production = {
      ...values,
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://auth.atiru.dev',
      DATABASE_URL: 'postgres://db/atiru',
      SMTP_URL: 'smtp://mail:587',
      SIGNING_KEY_ENCRYPTION_SECRET: 'k'.repeat(16) + 'Zq81xPz0aLw3nQ7vR5t2',
    };
    const config = loadConfig(production);
    expect({ redirects: config.http.redirectAllowList, cors: config.http.corsOrigins }).toEqual({ redirects: [], cors: [] });
    expect(() => loadConfig({ ...production, REDIRECT_ALLOW_LIST: 'http://localhost:5173' })).toThrow(/REDIRECT_ALLOW_LIST names the user's own machine \(http:\/\/localhost:5173\)/);
    for (const local of ['https://*.localhost', 'http://localhost.:8080', 'http://0.0.0.0:8080', 'http://127.1', 'http://[::1]:8080', 'http://[::ffff:127.0.0.1]']) {
      expect(() => loadConfig({ ...production, REDIRECT_ALLOW_LIST: `https://app.atiru.dev,${local}` })).toThrow(/REDIRECT_ALLOW_LIST names the user's own machine/);
    }
    expect(() => loadConfig({ ...production, DASHBOARD_URL: 'http://localhost:5173/' })).toThrow(/DASHBOARD_URL names the user's own machine/);
    // A page at a CORS origin calls the API only with a credential it holds; hybrid mobile apps run theirs at https://localhost.
    expect(loadConfig({ ...production, CORS_ORIGINS: 'https://localhost' }).http.corsOrigins).toEqual(['https://localhost']);
    expect(loadConfig({ ...production, REDIRECT_ALLOW_LIST: 'https://*.atiru.dev', CORS_ORIGINS: 'https://app.atiru.dev' }).http.corsOrigins).toEqual(['https://app.atiru.dev']);
  });
});
