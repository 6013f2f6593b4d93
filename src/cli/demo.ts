import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { PasswordHasher } from '../accounts/passwords/password.hasher';
import { AppConfig, ConfigError, loadConfig } from '../config/app-config';
import { runningEmbeddedUrl } from '../database/embedded-postgres';
import { DemoUsersRepository } from './demo-users.repository';

class DemoError extends Error {}

/**
 * `npm run demo`: on the running development service, a confirmed demo account and an API key,
 * printed with `curl` lines for `/users/me` in each credential form. A fresh account every run.
 */
async function main(): Promise<void> {
  // Checked before the configuration is read: whatever else production has configured, the demo
  // writes an account straight into the database and prints its password.
  if (process.env.NODE_ENV?.trim() === 'production') {
    throw new DemoError('refused: NODE_ENV is production. The demo account is for development databases only.');
  }
  const config = loadConfig();
  const base = config.http.publicUrl;
  await assertServiceUp(base);
  const databaseUrl = config.database.url || (await runningEmbeddedUrl(config.embeddedPostgresPort));
  if (!databaseUrl) {
    throw new DemoError(`the service answers on ${base}, but no database was found: set DATABASE_URL as the service has it, or EMBEDDED_POSTGRES_PORT`);
  }

  const email = `demo-${randomBytes(4).toString('hex')}@example.com`;
  const password = randomBytes(18).toString('base64url');
  await new DemoUsersRepository(databaseUrl).insertConfirmed(email, await new PasswordHasher(config).hash(password));

  const login = await call(base, 'POST', '/auth/login', { email, password });
  const accessToken: string = login.session.access_token;
  const apiKey = await call(base, 'POST', '/auth/api-keys', { name: 'npm run demo' }, accessToken);
  process.stdout.write(report(config, email, password, accessToken, apiKey.key));
}

function report(config: AppConfig, email: string, password: string, accessToken: string, key: string): string {
  const base = config.http.publicUrl;
  const me = `${base}/users/me`;
  return [
    `A confirmed demo account on ${base}:`,
    `  email          ${email}`,
    `  password       ${password}`,
    `  API key        ${key}`,
    `  access token   ${accessToken}`,
    `                 (a JWT, valid for ${config.tokens.accessTtlSeconds} s; POST /auth/login for another)`,
    `  dashboard      ${config.http.dashboardUrl}`,
    `  Swagger UI     ${base}/docs`,
    '',
    'Try it:',
    `curl -H 'Authorization: Bearer ${accessToken}' ${me}`,
    `curl -H 'Authorization: Bearer ${key}' ${me}`,
    `curl -H 'X-Api-Key: ${key}' ${me}`,
    '',
  ].join('\n');
}

async function assertServiceUp(base: string): Promise<void> {
  try {
    await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
  } catch {
    throw new DemoError(`nothing answers on ${base}: start the service first (npm run start:dev), or set PUBLIC_URL to where it runs`);
  }
}

async function call(base: string, method: string, path: string, body: object, accessToken?: string): Promise<any> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
    body: JSON.stringify(body),
  });
  const answer: any = await response.json().catch(() => ({}));
  if (!response.ok) throw new DemoError(`${method} ${path} answered ${response.status} ${answer.code ?? ''}: ${answer.error ?? ''}`.trim());
  return answer;
}

main().catch((error) => {
  const message = error instanceof DemoError || error instanceof ConfigError ? error.message : (error?.stack ?? error);
  process.stderr.write(`npm run demo: ${message}\n`);
  process.exit(1);
});
