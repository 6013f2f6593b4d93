import { Migration } from '@mikro-orm/migrations';

/**
 * Where each mail stands in the outbox queue, which the worker claims in that order: a notice
 * stands behind mail someone waits for that was queued shortly after it (decision 031).
 *
 * Safe on a live outbox: a column with a non-volatile default is added without rewriting the
 * table, and no row is updated. Mails already queued all take the migration's time, so they keep
 * their order among themselves and go before mail queued after it; an instance of the previous
 * release, still running during a rolling deploy, inserts without the column and its mails are
 * placed as mail someone waits for. The index serves the claim in its order, pending mails only.
 */
export class Migration20261209000100MailOutboxQueuePosition extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE mail_outbox ADD COLUMN queue_position timestamptz NOT NULL DEFAULT now()');
    this.addSql(`CREATE INDEX mail_outbox_queue ON mail_outbox (queue_position, id) WHERE status = 'pending'`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX mail_outbox_queue');
    this.addSql('ALTER TABLE mail_outbox DROP COLUMN queue_position');
  }
}
