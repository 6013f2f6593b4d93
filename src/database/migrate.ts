import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { StartRefusedError } from '../common/errors/start-refused.error';
import { ormOptions } from './mikro-orm.options';

/** Any fixed number works, as long as only migrations use it. */
export const MIGRATION_LOCK_ID = 7_211_410_001;

/** How often a wait for the migration lock is told in the log, the first time at once. */
const LOCK_WAIT_REPORT_MS = 30_000;
/** How often the lock is tried while another session holds it. */
const LOCK_RETRY_MS = 250;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so instances that start
 * together run them once, one after the other, instead of racing.
 */
export async function runMigrations(orm: MikroORM, url: string, logger = new Logger('Migrations')): Promise<string[]> {
  const lockClient = new Client({ connectionString: url });
  // The session that waits for the lock, or holds it, can be ended under it (a restarted server,
  // an operator's pg_terminate_backend of a wait that looked stuck). pg also reports that as an
  // 'error' event, which with no listener would end the process at once, before a start could stop
  // what it started. Kept here, it is the reason given: the next statement on the session only says
  // the session is gone. Lost while migrating, the lock no longer keeps another instance out, but
  // the migrations run in a transaction, so two at once cannot both apply one.
  let lost: Error | undefined;
  lockClient.on('error', (error) => {
    // The first says why (the server's own message); the socket's end follows it.
    lost ??= error;
  });
  await lockClient.connect();
  try {
    await takeMigrationLock(lockClient, logger).catch((error: Error) => {
      const reason = lost ? `the database closed the connection that waited for it (${lost.message})` : `a statement of the wait failed (${error.message})`;
      throw new StartRefusedError(`Could not take the migration lock: ${reason}; try again once the database answers.`, { cause: lost ?? error });
    });
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
 * Waits for the migration lock for as long as another session holds it (a deploy's long
 * migration is a reason to wait), saying at warn, at once and then every so often, which
 * session holds it: one that hangs (an instance frozen mid-migration, whose session PostgreSQL
 * keeps) is then found in the log, to be ended with pg_terminate_backend.
 */
async function takeMigrationLock(client: Client, logger: Logger): Promise<void> {
  const since = Date.now();
  let reportAt = since;
  for (;;) {
    const { rows } = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [MIGRATION_LOCK_ID]);
    if (rows[0].taken) {
      if (reportAt > since) logger.log(`took the migration lock after ${Math.round((Date.now() - since) / 1000)} s`);
      return;
    }
    if (Date.now() >= reportAt) {
      const { rows: holders } = await client.query<{ pid: number; client_addr: string | null; application_name: string; state: string }>(
        `SELECT a.pid, a.client_addr::text, a.application_name, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [MIGRATION_LOCK_ID],
      );
      const holder = holders[0];
      logger.warn(
        `waiting ${Math.round((Date.now() - since) / 1000)} s for the migration lock` +
          (holder ? `, held by PostgreSQL backend ${holder.pid} (${holder.client_addr ?? 'local'}, ${holder.state})` : ''),
        { lock_holder_pid: holder?.pid, lock_holder_application: holder?.application_name },
      );
      reportAt += LOCK_WAIT_REPORT_MS;
    }
    await sleep(LOCK_RETRY_MS);
  }
}

/**
 * Refuses a database whose schema is behind this release. The commands beside the service
 * (keys:rotate, mail:resend) change rows, never the schema, which is `npm run migrate`'s and the
 * start's to change: a command run from another release than the fleet's would otherwise migrate
 * production ahead of its deploy, or wait on the migration lock behind a deploy in an emergency.
 */
export async function assertSchemaCurrent(orm: MikroORM): Promise<void> {
  const pending = await orm.getMigrator().getPendingMigrations();
  if (pending.length > 0) {
    throw new Error(
      `the database's schema is behind this release (${pending.length} migration(s) pending, the first ${pending[0].name}): ` +
        'run npm run migrate with this release first, or start the service, which migrates',
    );
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
