import { EntityManager } from '@mikro-orm/postgresql';
import { INestApplication } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import { tagRequests } from './request-tagging';

export interface QueryRecorder {
  /** Every statement sent so far, in order, background work (mail worker, key reloads) included. */
  all: Array<{ sql: string; bindings: unknown[]; requestId?: string }>;
  /** The SQL of the statements sent while serving an HTTP request: background work left out. */
  readonly sql: string[];
  stop(): void;
}

let recorded = 0;

/**
 * Records every SQL statement the app sends through its MikroORM pool, from now until `stop()`.
 * Knex reports a statement synchronously in the caller's async context, so each one carries the
 * id of the request it was sent for, if any: the recorder runs each of the app's HTTP requests in
 * an AsyncLocalStorage of its own (the request's `x-request-id`, else a number). The product keeps
 * no AsyncLocalStorage, which would cost every request of it; a test may pay for one. Recorders on
 * one app are stopped in the reverse order of their start.
 */
export function recordQueries(app: INestApplication): QueryRecorder {
  const requests = new AsyncLocalStorage<string>();
  const untag = tagRequests(app.getHttpServer() as Server, requests, (request) => {
    const header = request.headers['x-request-id'];
    return typeof header === 'string' && header !== '' ? header : `recorded-${++recorded}`;
  });
  const knex = app.get(EntityManager).getConnection().getKnex();
  const all: QueryRecorder['all'] = [];
  const listener = (query: { sql: string; bindings?: unknown[] }) => all.push({ sql: query.sql, bindings: query.bindings ?? [], requestId: requests.getStore() });
  knex.on('query', listener);
  return {
    all,
    get sql() {
      return all.filter((query) => query.requestId !== undefined).map((query) => query.sql);
    },
    stop() {
      knex.off('query', listener);
      untag();
      // Async hooks stay on in a process while any AsyncLocalStorage is enabled.
      requests.disable();
    },
  };
}
