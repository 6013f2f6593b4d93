import { EntityManager } from '@mikro-orm/postgresql';
import { INestApplication } from '@nestjs/common';
import { currentRequestId } from '../../src/common/logging/request-context';

export interface QueryRecorder {
  /** Every statement sent so far, in order, background work (mail worker, key reloads) included. */
  all: Array<{ sql: string; bindings: unknown[]; requestId?: string }>;
  /** The SQL of the statements sent while serving an HTTP request: background work left out. */
  readonly sql: string[];
  stop(): void;
}

/**
 * Records every SQL statement the app sends through its MikroORM pool, from now until `stop()`.
 * Knex reports a statement synchronously in the caller's async context, so each one carries the
 * id of the request it was sent for, if any, from the service's own request context (the
 * request's `x-request-id` when it sent a sane one).
 */
export function recordQueries(app: INestApplication): QueryRecorder {
  const knex = app.get(EntityManager).getConnection().getKnex();
  const all: QueryRecorder['all'] = [];
  const listener = (query: { sql: string; bindings?: unknown[] }) => all.push({ sql: query.sql, bindings: query.bindings ?? [], requestId: currentRequestId() });
  knex.on('query', listener);
  return {
    all,
    get sql() {
      return all.filter((query) => query.requestId !== undefined).map((query) => query.sql);
    },
    stop() {
      knex.off('query', listener);
    },
  };
}
