import { Migration } from '@mikro-orm/migrations';

/**
 * What the retention worker (`RetentionWorker`) needs to find rows past their retention without
 * reading whole tables, and to delete sessions without a scan per refresh token.
 */
export class Migration20261206000200Retention extends Migration {
  override async up(): Promise<void> {
    // Sent mails by when they were sent (failed ones already have mail_outbox_failed).
    this.addSql(`CREATE INDEX mail_outbox_sent ON mail_outbox (sent_at) WHERE status = 'sent'`);
    this.addSql('CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at)');
    // When a session ended: revoked, or expired, whichever came first (least() skips a NULL).
    this.addSql('CREATE INDEX sessions_ended_at ON sessions ((least(revoked_at, expires_at)))');
    // Deleting a session deletes its refresh tokens, and each of those the tokens that name it as
    // parent or successor (ON DELETE CASCADE): without these, every token deleted reads the table.
    this.addSql('CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_id) WHERE parent_id IS NOT NULL');
    this.addSql('CREATE INDEX refresh_tokens_replaced_by ON refresh_tokens (replaced_by_id) WHERE replaced_by_id IS NOT NULL');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX refresh_tokens_replaced_by');
    this.addSql('DROP INDEX refresh_tokens_parent');
    this.addSql('DROP INDEX sessions_ended_at');
    this.addSql('DROP INDEX one_time_tokens_expires_at');
    this.addSql('DROP INDEX mail_outbox_sent');
  }
}
