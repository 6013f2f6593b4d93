import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { MIGRATION_LOCK_ID, runMigrations } from '../../src/database/migrate';
import { StartRefusedError } from '../../src/common/errors/start-refused.error';
import { ormOptions } from '../../src/database/mikro-orm.options';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { LogCapture } from '../support/log-capture';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { waitUntil } from '../support/wait';

/**
 * `runMigrations` on a new database while another session (`holder`, backend `holderPid`: another
 * instance's long migration, or one frozen in the middle of one) holds the migration lock, handed
 * to `test` once the wait has been told at warn; what the migrations said is in `said`.
 */
async function whileAnotherSessionHoldsTheLock(
  test: (wait: { holder: Client; holderPid: number; orm: MikroORM; said: { warn: string[]; log: string[] }; running: Promise<string[]> }) => Promise<void>,
): Promise<void> {
  const database = await createTestDatabase();
  const holder = new Client({ connectionString: database.url });
  await holder.connect();
  const orm = await MikroORM.init(ormOptions(database.url, 1));
  try {
    const [{ pid: holderPid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const said = { warn: [] as string[], log: [] as string[] };
    const logger = { warn: (message: string) => said.warn.push(message), log: (message: string) => said.log.push(message) } as unknown as Logger;
    const running = runMigrations(orm, database.url, logger);
    // Its outcome is the test's to read; until then a refusal is not an unhandled rejection.
    running.catch(() => undefined);
    await waitUntil(async () => said.warn.length > 0, 'the wait to be told');
    await test({ holder, holderPid, orm, said, running });
  } finally {
    await orm.close();
    await holder.end();
    await database.drop();
  }
}

/** `test` on a new database with a migrator on it, both released after it whatever it did. */
async function onNewDatabase(test: (fresh: { database: TestDatabase; migrator: ReturnType<MikroORM['getMigrator']> }) => Promise<void>): Promise<void> {
  const database = await createTestDatabase();
  const orm = await MikroORM.init(ormOptions(database.url, 1));
  try {
    await test({ database, migrator: orm.getMigrator() });
  } finally {
    await orm.close();
    await database.drop();
  }
}

describe('migrations on a real PostgreSQL', () => {
  it('refuse in one line, rather than crash, when the session waiting for the lock is ended under them', async () => {
    await whileAnotherSessionHoldsTheLock(async ({ holder, holderPid, orm, running }) => {
      // An operator ends the wait that looked stuck, as the warning suggests for a holder.
      const ended = await holder.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 AND pid <> pg_backend_pid()
            AND query LIKE '%advisory%'`,
        [holderPid],
      );
      expect(ended.rows).toEqual([{ ended: true }]);

      const error = await running.then(
        () => undefined,
        (refusal: unknown) => refusal,
      );
      expect(error).toBeInstanceOf(StartRefusedError);
      // The reason the database gave, not only that the session is gone.
      expect((error as Error).message).toBe(
        'Could not take the migration lock: the database closed the connection that waited for it (terminating connection due to administrator command); try again once the database answers.',
      );
      expect(await orm.getMigrator().getPendingMigrations()).not.toHaveLength(0);
    });
  });

  it('wait for the migration lock while another session holds it, saying at warn which backend holds it, and run once it is free', async () => {
    await whileAnotherSessionHoldsTheLock(async ({ holder, holderPid, orm, said, running }) => {
      expect(said.warn[0]).toMatch(new RegExp(`^waiting \\d+ s for the migration lock, held by PostgreSQL backend ${holderPid} \\(`));
      expect(await orm.getMigrator().getPendingMigrations()).not.toHaveLength(0);

      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
      expect((await running).length).toBeGreaterThan(0);
      expect(said.log).toEqual([expect.stringMatching(/^took the migration lock after \d+ s$/), expect.stringMatching(/^applied \d+ migration\(s\): /)]);
      expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
    });
  });

  it('place the mails an outbox already holds in their lanes in the order they were queued, and those an instance of an earlier release inserts', async () => {
    await onNewDatabase(async ({ database, migrator }) => {
      await migrator.up({ to: 'Migration20261208000100MailOutboxRecipient' });
      // A live outbox: notices queued before account mail, and a mail sent long ago.
      await database.query(
        `INSERT INTO mail_outbox (recipient, template, payload)
         SELECT 'queued' || i || '@example.com', CASE WHEN i % 2 = 1 THEN 'api-key-created' ELSE 'confirm-email' END, '{"subject": "s", "text": "t"}'
         FROM generate_series(1, 6) AS i`,
      );
      await database.query(`INSERT INTO mail_outbox (recipient, template, payload, status, sent_at) VALUES ('sent@example.com', 'confirm-email', '{"subject": "s"}', 'sent', now())`);

      await migrator.up();
      expect(await migrator.getPendingMigrations()).toEqual([]);
      // The release before this one inserts as it always did.
      await database.query(`INSERT INTO mail_outbox (recipient, template, payload) VALUES ('older-release@example.com', 'confirm-email', '{"subject": "s", "text": "t"}')`);

      // As the worker claims them: the awaited lane, then the notices' lane.
      const queue = await database.query<{ recipient: string; awaited: boolean }>(`SELECT recipient, awaited FROM mail_outbox WHERE status = 'pending' ORDER BY awaited DESC, queue_position, id`);
      expect(queue).toEqual([
        ...[2, 4, 6].map((i) => ({ recipient: `queued${i}@example.com`, awaited: true })),
        { recipient: 'older-release@example.com', awaited: true },
        ...[1, 3, 5].map((i) => ({ recipient: `queued${i}@example.com`, awaited: false })),
      ]);
      expect(await database.query('SELECT recipient, status FROM mail_outbox WHERE status = $1', ['sent'])).toEqual([{ recipient: 'sent@example.com', status: 'sent' }]);
    });
  });

  it('write the domains of addresses stored by an earlier release in one form, oldest account first, and leave, naming it, an address whose mailbox already has an account in that form or whose form would not fit', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await onNewDatabase(async ({ database, migrator }) => {
        await migrator.up({ to: 'Migration20261211000200DeletedApiKeyHashes' });
        // One character that the mapping writes as six, three times, behind a local part that leaves no room for them.
        const outgrown = `${'x'.repeat(300)}@\u3316\u3316\u3316.com`;
        const stored: Array<[string, string]> = [
          ['Old@XN--BCHER-KVA.example', '3 years'],
          ['wide@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org', '3 years'],
          // The mailbox has an account in Unicode form already.
          ['twice@bücher.example', '3 years'],
          ['twice@xn--bcher-kva.example', '2 years'],
          // Neither in Unicode form: the older account takes it.
          ['pair@\uff42ücher.example', '1 year'],
          ['pair@xn--bcher-kva.example', '2 years'],
          // Lower-case Cherokee, which the mapping writes in capitals: lower-cased again, it is as it was.
          ['chr@\uab70b.com', '1 year'],
          [outgrown, '1 year'],
          ['plain@example.com', '1 year'],
        ];
        const ids = new Map<string, string>();
        for (const [email, age] of stored) {
          const [{ id }] = await database.query<{ id: string }>(`INSERT INTO users (id, email, password_hash, created_at) VALUES (gen_random_uuid(), $1, 'x', now() - $2::interval) RETURNING id`, [email, age]);
          ids.set(email, id);
        }
        await database.query(`INSERT INTO registrations (id, email, password_hash, expires_at) VALUES (gen_random_uuid(), 'pending@xn--bcher-kva.example', 'x', now() + interval '1 day')`);
        await database.query(`INSERT INTO account_requests (kind, email) VALUES ('forgot_password', 'asked@XN--BCHER-KVA.example')`);

        await migrator.up();
        const emails = async (table: string) => (await database.query<{ email: string }>(`SELECT email FROM ${table}`)).map((row) => row.email).sort();
        expect(await emails('users')).toEqual(
          ['Old@bücher.example', 'wide@example.org', 'twice@bücher.example', 'twice@xn--bcher-kva.example', 'pair@bücher.example', 'pair@\uff42ücher.example', 'chr@\uab70b.com', outgrown, 'plain@example.com'].sort(),
        );
        expect(await emails('registrations')).toEqual(['pending@bücher.example']);
        expect(await emails('account_requests')).toEqual(['asked@bücher.example']);
        const left = [ids.get('twice@xn--bcher-kva.example'), ids.get('pair@\uff42ücher.example'), ids.get(outgrown)];
        const said = warned.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('kept their address'));
        expect(said).toEqual([expect.stringMatching(new RegExp(`^3 account\\(s\\) kept their address as stored.*: ${left.join(', ')}$`))]);
        // Ids only: the addresses stay out of the log.
        expect(said[0]).not.toContain('@');
      });
    } finally {
      warned.mockRestore();
    }
  });

  it('move the notices that may yet be sent to their lane at the time they were queued, leave sent mail as it was, and put what the release before inserts in the awaited lane', async () => {
    await onNewDatabase(async ({ database, migrator }) => {
      await migrator.up({ to: 'Migration20261210000100ApiKeyRetention' });
      // As the release before inserts: a notice takes its place ten minutes after it was queued.
      const insert = (recipient: string, template: string, status: string, behind: string) =>
        database.query(
          `INSERT INTO mail_outbox (recipient, template, payload, status, queue_position, sent_at, failure, failed_at)
           VALUES ($1, $2, '{"subject": "s", "text": "t"}', $3::text, now() + $4::interval,
                   CASE WHEN $3::text = 'sent' THEN now() END, CASE WHEN $3::text = 'failed' THEN 'rejected' END, CASE WHEN $3::text = 'failed' THEN now() END)`,
          [recipient, template, status, behind],
        );
      await insert('pending-notice@example.com', 'password-changed', 'pending', '10 minutes');
      await insert('pending-confirm@example.com', 'confirm-email', 'pending', '0');
      await insert('failed-notice@example.com', 'api-key-leaked', 'failed', '10 minutes');
      await insert('sent-notice@example.com', 'api-key-created', 'sent', '10 minutes');

      await migrator.up();
      await insert('rolling-notice@example.com', 'api-key-rolled', 'pending', '10 minutes');
      await insert('rolling-confirm@example.com', 'confirm-email', 'pending', '0');

      // Where each mail stands: its lane, and its place in it against the time it was queued.
      const rows = await database.query<{ recipient: string; awaited: boolean; behind_ms: number }>(
        `SELECT recipient, awaited, (extract(epoch FROM queue_position - created_at) * 1000)::int AS behind_ms FROM mail_outbox ORDER BY id`,
      );
      expect(rows).toEqual([
        { recipient: 'pending-notice@example.com', awaited: false, behind_ms: 0 },
        { recipient: 'pending-confirm@example.com', awaited: true, behind_ms: 0 },
        { recipient: 'failed-notice@example.com', awaited: false, behind_ms: 0 },
        { recipient: 'sent-notice@example.com', awaited: true, behind_ms: 600_000 },
        // Until every instance runs this release: no lane given, so the awaited one, where the notice is placed as that release places it.
        { recipient: 'rolling-notice@example.com', awaited: true, behind_ms: 600_000 },
        { recipient: 'rolling-confirm@example.com', awaited: true, behind_ms: 0 },
      ]);
    });
  });

  it("hold a starting instance, which says at warn while it waits which backend of its own database holds the lock", async () => {
    const database = await createTestDatabase();
    const elsewhere = await createTestDatabase();
    const holder = new Client({ connectionString: database.url });
    const stranger = new Client({ connectionString: elsewhere.url });
    await holder.connect();
    await stranger.connect();
    let app: Awaited<ReturnType<typeof createApp>> | undefined;
    try {
      // The same lock in another database of the server: advisory locks are per database.
      await stranger.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url });
      const logs = new LogCapture('info');
      let started = false;
      const starting = createApp(config, { logger: logs.logger }).then((created) => {
        started = true;
        return created;
      });
      const waiting = await waitUntil(async () => logs.entries().find((entry) => /^waiting \d+ s for the migration lock/.test(entry.msg ?? '')), 'the wait to be told while the start waits');
      expect(started).toBe(false);
      expect(waiting.msg).toMatch(new RegExp(`held by PostgreSQL backend ${pid} \\(`));
      expect(waiting.lock_holder_pid).toBe(pid);

      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
      app = await starting;
      expect(logs.entries().some((entry) => /^took the migration lock after \d+ s$/.test(entry.msg ?? ''))).toBe(true);
    } finally {
      await app?.close();
      await holder.end();
      await stranger.end();
      await database.drop();
      await elsewhere.drop();
    }
  });
});
