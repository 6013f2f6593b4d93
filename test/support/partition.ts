import { PgListener } from '../../src/database/pg-listener';
import { sql } from './accounts';
import { recordQueries } from './query-recorder';
import { TcpProxy } from './tcp-proxy';
import { startTestApp, TestApp } from './test-app';
import { createTestDatabase, TestDatabase } from './test-database';
import { waitUntil } from './wait';

/** For an instance that will be cut off from PostgreSQL: its database requests answer 503 within seconds, not after the defaults. */
export const CUT_OFF_DATABASE_TIMEOUTS: Record<string, string> = {
  DATABASE_CONNECT_TIMEOUT_MS: '2000',
  DATABASE_ACQUIRE_TIMEOUT_MS: '1500',
  DATABASE_STATEMENT_TIMEOUT_MS: '1000',
};

/** One answer of `GET /users/me`, and when (epoch ms) its request was sent. */
export interface Answer {
  sentAt: number;
  status: number;
  body: any;
}

/**
 * Asks `service` for `GET /users/me` with `headers`, over and over on two connections at once,
 * until `until()`: `answers` as they come, `done` once asking has stopped.
 */
export function askWithoutPause(service: TestApp, headers: Record<string, string>, until: () => boolean): { answers: Answer[]; done: Promise<Answer[]> } {
  const answers: Answer[] = [];
  const loop = async () => {
    while (!until()) {
      const sentAt = Date.now();
      const response = await service.request('GET', '/users/me', { headers });
      answers.push({ sentAt, status: response.status, body: response.body });
    }
  };
  return { answers, done: Promise.all([loop(), loop()]).then(() => answers) };
}

/**
 * Waits until `headers` are answered by `service` from memory: 200 without a statement. Right
 * after an earlier test's partition ends, the listeners may still be proving that they hear (or
 * reconnecting, which empties the caches), so a first read may not be kept: the precondition is
 * awaited, not assumed.
 */
export async function answeredFromMemory(service: TestApp, headers: Record<string, string>): Promise<void> {
  await waitUntil(async () => {
    const queries = recordQueries(service.app);
    try {
      const status = (await service.request('GET', '/users/me', { headers })).status;
      expect(status).toBe(200);
    } finally {
      queries.stop();
    }
    return queries.sql.length === 0;
  }, 'the credential to be answered from memory');
}

/**
 * The LISTEN connections on `channel` that go through `proxy`, by the port the database sees
 * them from (for `proxy.freezeConnections`): one instance's listener, when only it is behind the
 * proxy. Asked through `service`, whose own connections must flow.
 */
export async function listenerPortsThrough(service: TestApp, proxy: TcpProxy, channel: string): Promise<number[]> {
  const rows = await sql<{ client_port: number }>(service, 'SELECT client_port FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?', [
    PgListener.applicationName(channel),
  ]);
  const throughProxy = proxy.upstreamPorts();
  return rows.map((row) => row.client_port).filter((port) => throughProxy.includes(port));
}

/** Two instances on one fresh database, the second reaching PostgreSQL through a proxy that can cut or freeze its connections. */
export interface PartitionedPair {
  database: TestDatabase;
  proxy: TcpProxy;
  first: TestApp;
  second: TestApp;
  /** Lets traffic through again, stops both instances and the proxy, and drops the database. */
  close(): Promise<void>;
}

/** For what must hold when one instance is cut off from PostgreSQL, or one of its connections is: `env` is given to both. */
export async function startPartitionedPair(env: Record<string, string>): Promise<PartitionedPair> {
  const database = await createTestDatabase();
  const target = new URL(database.url);
  const proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
  const first = await startTestApp({ database, env });
  const second = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env });
  return {
    database,
    proxy,
    first,
    second,
    async close() {
      proxy.restore();
      await second.close();
      await first.close();
      await proxy.stop();
      await database.drop();
    },
  };
}
