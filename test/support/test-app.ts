import { Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { Clock } from '../../src/common/time/clock';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { assertMatchesContract } from './contract';
import { LogCapture } from './log-capture';
import { createTestDatabase, TestDatabase } from './test-database';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  logs: LogCapture;
  database: TestDatabase;
  close(): Promise<void>;
  /**
   * fetch() against the running service, JSON in and out. Every response is checked against
   * `openapi.yaml` (status, body, documented headers) and the call throws when it does not match.
   */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  raw?: string;
  /** `false`: this request deliberately leaves the contract (an unknown route, say); its response is not checked. */
  contract?: false;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface StartOptions {
  /** Variables over the test defaults; `undefined` unsets one (e.g. DASHBOARD_URL, for the built-in dashboard). */
  env?: Record<string, string | undefined>;
  /** Listen on this port (e.g. one PUBLIC_URL names, so mailed links open as they are); any free port otherwise. */
  port?: number;
  /** Reuse a database (e.g. a second instance of the service); a fresh one otherwise. */
  database?: TestDatabase;
  /** Connect through this URL instead of the database's own (e.g. through a TcpProxy). */
  databaseUrl?: string;
  extraModules?: Type[];
  /** The clock of the whole app, e.g. a `FakeClock` that skips ahead; the real one otherwise. */
  clock?: Clock;
  /** Path prefixes of deliberately undocumented, test-only routes (probes): their responses are not checked against `openapi.yaml`. */
  undocumentedPaths?: string[];
}

/** The contract and its viewer, and the dashboard's pages, are served beside the API, not described in it. */
const SERVED_OUTSIDE_THE_CONTRACT = ['/docs', '/reference/openapi.json', '/openapi.yaml', '/dashboard', '/'];

/** Boots the real application on a real port, a real (fresh) database and real logs. */
export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const ownsDatabase = !options.database;
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    DASHBOARD_URL: 'http://dashboard.test',
    REDIRECT_ALLOW_LIST: 'http://dashboard.test,https://*.atiru.test',
    DATABASE_URL: options.databaseUrl ?? database.url,
    MAIL_POLL_INTERVAL_MS: '50',
    MAIL_RETRY_BASE_MS: '100',
    ...options.env,
  });
  const logs = new LogCapture();
  const app = await createApp(config, { logger: logs.logger, extraModules: options.extraModules, clock: options.clock });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const unchecked = [...SERVED_OUTSIDE_THE_CONTRACT, ...(options.undocumentedPaths ?? [])];
  const isChecked = (path: string) => {
    const pathname = new URL(path, baseUrl).pathname;
    return !unchecked.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
  };

  return {
    app,
    config,
    baseUrl,
    logs,
    database,
    async close() {
      await app.close();
      if (ownsDatabase) await database.drop();
    },
    async request(method, path, { body, headers = {}, raw, contract } = {}) {
      const response = await fetch(baseUrl + path, {
        method,
        redirect: 'manual',
        headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
        body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      // A CORS preflight is the browser's protocol, answered by the CORS plugin, not an operation.
      const preflight = method.toUpperCase() === 'OPTIONS' && Object.keys(headers).some((name) => name.toLowerCase() === 'access-control-request-method');
      if (contract !== false && !preflight && isChecked(path)) {
        assertMatchesContract(method, path, response.status, text === '' ? undefined : (parsed ?? text), response.headers);
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
  };
}
