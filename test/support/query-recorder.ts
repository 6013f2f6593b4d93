import { EntityManager } from '@mikro-orm/postgresql';
import { INestApplication } from '@nestjs/common';

export interface QueryRecorder {
  /** The SQL of every statement sent so far, in order. */
  sql: string[];
  stop(): void;
}

/** Records every SQL statement the app sends through its MikroORM pool, from now until `stop()`. */
export function recordQueries(app: INestApplication): QueryRecorder {
  const knex = app.get(EntityManager).getConnection().getKnex();
  const sql: string[] = [];
  const listener = (query: { sql: string }) => sql.push(query.sql);
  knex.on('query', listener);
  return { sql, stop: () => knex.off('query', listener) };
}
