import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';

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
