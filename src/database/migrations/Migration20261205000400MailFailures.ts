import { Migration } from '@mikro-orm/migrations';

/**
 * A failed mail says why it failed (refused for good by its server, or every attempt failed) and
 * when, so operators can tell them apart and resend the ones an outage failed. Failed mails keep
 * their text and HTML from now on; those that failed before lost them and cannot be resent.
 */
export class Migration20261205000400MailFailures extends Migration {
  override async up(): Promise<void> {
    this.addSql(`ALTER TABLE mail_outbox ADD COLUMN failure varchar(32) NULL CHECK (failure IN ('rejected', 'retries_exhausted'))`);
    this.addSql('ALTER TABLE mail_outbox ADD COLUMN failed_at timestamptz NULL');
    this.addSql(`UPDATE mail_outbox SET failure = 'retries_exhausted' WHERE status = 'failed'`);
    this.addSql(`ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_failure_iff_failed CHECK ((status = 'failed') = (failure IS NOT NULL))`);
    // The resend command's query: failed mails, by when they failed.
    this.addSql(`CREATE INDEX mail_outbox_failed ON mail_outbox (failed_at, id) WHERE status = 'failed'`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX mail_outbox_failed');
    this.addSql('ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_failure_iff_failed');
    this.addSql('ALTER TABLE mail_outbox DROP COLUMN failed_at');
    this.addSql('ALTER TABLE mail_outbox DROP COLUMN failure');
  }
}
