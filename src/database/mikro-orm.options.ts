import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, Options } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { migrationsList } from './migrations';

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
 * How much longer than `statement_timeout` the client waits for an answer: a server that is
 * alive cancels the statement itself and answers first, keeping the connection; one that says
 * nothing is frozen or cut off.
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
        endOnReadTimeout(client);
        done(null, client);
      },
    },
    driverOptions: {
      connection: {
        connectionTimeoutMillis: timeouts.connectTimeoutMs,
        keepAlive: true,
        ...(statementTimeout > 0 ? { statement_timeout: statementTimeout, query_timeout: statementTimeout + CLIENT_GRACE_MS } : {}),
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

const READ_TIMEOUT = 'Query read timeout';

/**
 * pg gives up on a statement after `query_timeout` but keeps waiting on the connection, so what
 * is queued behind it (the transaction's ROLLBACK) would wait as long again, and the pool would
 * hand the connection out once more. Ending the connection fails all of that at once; the pool
 * then opens a new one, which, while the server is unreachable, fails in its connect timeout.
 */
function endOnReadTimeout(client: Client): void {
  const end = (error: unknown) => {
    if ((error as Error | undefined)?.message === READ_TIMEOUT) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (error: unknown, result: unknown) => {
        end(error);
        callback(error, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.catch(end);
    return result;
  };
}
