import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, Options } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { migrationsList } from './migrations';
import { patience } from './patience';

const ormLogger = new Logger('MikroORM');

/** How long a request may wait on the database, each step of the way (AppConfig `database`). */
export interface DatabaseTimeouts {
  connectTimeoutMs: number;
  acquireTimeoutMs: number;
  /** 0: none (migrations, which may rightly run long). */
  statementTimeoutMs: number;
}

/** For the command-line tools and migrations: no statement runs into a timeout. */
const TOOL_TIMEOUTS: DatabaseTimeouts = { connectTimeoutMs: 3000, acquireTimeoutMs: 5000, statementTimeoutMs: 0 };

/**
 * How much longer than `statement_timeout` the client waits for an answer (endWhenUnanswered): a
 * server that is alive cancels the statement itself and answers first, keeping the connection;
 * one that says nothing is frozen or cut off.
 */
const CLIENT_GRACE_MS = 1000;

/**
 * MikroORM settings shared by the service and the migration command. Entities are registered
 * by each feature module (`MikroOrmModule.forFeature`) and loaded automatically, so this file
 * knows no feature.
 */
export function ormOptions(url: string, poolMax = 10, timeouts: DatabaseTimeouts = TOOL_TIMEOUTS): Options {
  const statementTimeout = timeouts.statementTimeoutMs;
  return defineConfig({
    clientUrl: url,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: {
      min: 0,
      max: poolMax,
      acquireTimeoutMillis: timeouts.acquireTimeoutMs,
      idleTimeoutMillis: 30_000,
      afterCreate: (client: Client, done: (error: Error | null, client: Client) => void) => {
        if (statementTimeout > 0) endWhenUnanswered(client, statementTimeout + CLIENT_GRACE_MS);
        done(null, client);
      },
    },
    driverOptions: {
      connection: {
        connectionTimeoutMillis: timeouts.connectTimeoutMs,
        keepAlive: true,
        ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
      },
      // A failed statement's message names its placeholders, never the values bound to them
      // (knex would inline them: emails, token hashes, links), so no log line can carry them.
      compileSqlOnError: false,
      // knex's own warnings ("Connection Error: …" per broken pooled connection) would repeat
      // through an outage; the outage is reported once by DatabaseOutage instead.
      log: { warn: debug, error: debug, deprecate: debug, debug },
    },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug: false,
    logger: (message) => ormLogger.debug(message),
  });
}

function debug(message: unknown): void {
  ormLogger.debug(String(message));
}

/** What a statement the server never answered fails with; error-mapping.ts reads it as an outage. */
export const READ_TIMEOUT = 'Query read timeout';

/**
 * The client's patience with the server on a pooled connection: a statement unanswered `ms` after
 * it was sent ends the connection, which fails it, and what is queued behind it (the transaction's
 * ROLLBACK), at once with READ_TIMEOUT; the pool then opens a new connection, which, while the
 * server is unreachable, fails in its connect timeout.
 *
 * pg's own `query_timeout` is not used: it decides in a timer, before the sockets are read, so
 * after a stall of this process it failed statements whose answers were already waiting (a 503
 * for a request that succeeded, a COMMIT reported failed that was made), and it kept the
 * connection in the pool. The verdict here waits for the read (patience.ts, decision 038). knex
 * sends every statement with a callback; a query without one is given a promise by pg and is
 * judged on that. pg offers no public way to end a connection at once (`end()` waits for the
 * server), so its socket is destroyed.
 */
function endWhenUnanswered(client: Client, ms: number): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const end = () => (client as unknown as { connection: { stream: { destroy(error: Error): void } } }).connection.stream.destroy(new Error(READ_TIMEOUT));
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      const verdict = patience(ms, end);
      args[last] = (error: unknown, result: unknown) => {
        verdict.cancel();
        callback(error, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) {
      const verdict = patience(ms, end);
      result.then(verdict.cancel, verdict.cancel);
    }
    return result;
  };
}
