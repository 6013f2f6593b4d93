import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { ormOptions } from './mikro-orm.options';

/** Any fixed number works, as long as only migrations use it. */
const MIGRATION_LOCK_ID = 7_211_410_001;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so instances that start
 * together run them once, one after the other, instead of racing.
 */
export async function runMigrations(orm: MikroORM, url: string, logger = new Logger('Migrations')): Promise<string[]> {
  const lockClient = new Client({ connectionString: url });
  await lockClient.connect();
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await orm.getMigrator().up();
    const names = applied.map((migration) => migration.name);
    if (names.length > 0) logger.log(`applied ${names.length} migration(s): ${names.join(', ')}`);
    return names;
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await lockClient.end();
  }
}

/**
 * `runMigrations` on a connection of its own, without the service's statement timeout: a
 * migration may rightly take longer than any request should.
 */
export async function runMigrationsAlone(url: string): Promise<string[]> {
  const orm = await MikroORM.init(ormOptions(url, 1));
  try {
    return await runMigrations(orm, url);
  } finally {
    await orm.close();
  }
}
