import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../config/app-config';
import { StartRefusedError } from '../common/errors/start-refused.error';
import { withCommandDatabase } from '../database/embedded-postgres';
import { runMigrations } from '../database/migrate';
import { ormOptions } from '../database/mikro-orm.options';

const USAGE = 'usage: npm run migrate (no arguments): applies the pending migrations to DATABASE_URL, or to the embedded database';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // An argument it does not know (a --dry-run, say) must not be taken for a go-ahead.
  if (args.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const config = loadConfig();
  await withCommandDatabase(config, async () => {
    const orm = await MikroORM.init(ormOptions(config.database.url, 2));
    try {
      const applied = await runMigrations(orm, config.database.url);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n');
    } finally {
      await orm.close();
    }
  });
}

main().catch((error) => {
  // A refusal the operator can act on is said in one line, as the service's start says it.
  process.stderr.write(`migration failed: ${error instanceof StartRefusedError ? error.message : (error?.stack ?? error)}\n`);
  process.exit(1);
});
