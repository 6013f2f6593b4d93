import { Migration } from '@mikro-orm/migrations';

/** The notice templates as this migration found them: `MAIL_AWAITED` may change, this list may not. */
const NOTICES = `'password-changed', 'api-key-created', 'api-key-rolled', 'api-key-leaked'`;

/**
 * Mail someone waits for and notices are claimed in two lanes, each in its own queue order, so
 * neither kind's backlog holds up the other (decision 036).
 *
 * Safe on a live outbox: the column's default is a constant, so adding it rewrites no row, and only
 * the notices that may yet be sent (pending or failed, a few among the sent) are updated. They move
 * to the notices' lane, at the time they were queued: notices no longer take a place ten minutes
 * later, and a notice queued before the deploy would otherwise stand behind those queued in the ten
 * minutes after it. An instance of the previous release, still running during a rolling deploy,
 * inserts without the column: its mails go to the awaited lane, where its notices are ordered as
 * that release ordered them.
 *
 * One partial index per lane, where one index led by the column would do: a claim of one lane then
 * reads only that lane's entries, whatever the planner's statistics for the column (none until the
 * table is next analysed, and counting sent mail), which could otherwise send it through
 * `mail_outbox_queue`, past every pending mail of the other lane. A row is in one of the two, so
 * they cost no more to keep than one. `mail_outbox_queue` stays while the previous release may
 * run, since its claim reads it; the next release drops it.
 */
export class Migration20261211000100MailOutboxLanes extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE mail_outbox ADD COLUMN awaited boolean NOT NULL DEFAULT true');
    // Two conditions on status rather than IN: each is read through its own partial index.
    this.addSql(
      `UPDATE mail_outbox SET awaited = false, queue_position = created_at
       WHERE (status = 'pending' OR status = 'failed') AND template IN (${NOTICES})`,
    );
    this.addSql(`CREATE INDEX mail_outbox_awaited_lane ON mail_outbox (queue_position, id) WHERE status = 'pending' AND awaited`);
    this.addSql(`CREATE INDEX mail_outbox_notices_lane ON mail_outbox (queue_position, id) WHERE status = 'pending' AND NOT awaited`);
  }

  override async down(): Promise<void> {
    // The release before orders both kinds by position alone: its notices stood ten minutes on.
    this.addSql(`UPDATE mail_outbox SET queue_position = created_at + interval '10 minutes' WHERE NOT awaited AND status IN ('pending', 'failed')`);
    this.addSql('DROP INDEX mail_outbox_notices_lane');
    this.addSql('DROP INDEX mail_outbox_awaited_lane');
    this.addSql('ALTER TABLE mail_outbox DROP COLUMN awaited');
  }
}
