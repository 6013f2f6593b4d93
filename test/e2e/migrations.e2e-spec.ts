import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { MIGRATION_LOCK_ID, runMigrations } from '../../src/database/migrate';
import { ormOptions } from '../../src/database/mikro-orm.options';
import { createTestDatabase } from '../support/test-database';
import { waitUntil } from '../support/wait';

describe('migrations on a real PostgreSQL', () => {
  it('wait for the migration lock while another session holds it, saying at warn which backend holds it, and run once it is free', async () => {
    const database = await createTestDatabase();
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    const orm = await MikroORM.init(ormOptions(database.url, 1));
    try {
      // Another instance's long migration, or one frozen in the middle of one.
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const said = { warn: [] as string[], log: [] as string[] };
      const logger = { warn: (message: string) => said.warn.push(message), log: (message: string) => said.log.push(message) } as unknown as Logger;

      const running = runMigrations(orm, database.url, logger);
      await waitUntil(async () => said.warn.length > 0, 'the wait to be told');
      expect(said.warn[0]).toMatch(new RegExp(`^waiting \\d+ s for the migration lock, held by PostgreSQL backend ${pid} \\(`));
      expect(await orm.getMigrator().getPendingMigrations()).not.toHaveLength(0);

      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
      expect((await running).length).toBeGreaterThan(0);
      expect(said.log).toEqual([expect.stringMatching(/^took the migration lock after \d+ s$/), expect.stringMatching(/^applied \d+ migration\(s\): /)]);
      expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
    } finally {
      await orm.close();
      await holder.end();
      await database.drop();
    }
  });
});
