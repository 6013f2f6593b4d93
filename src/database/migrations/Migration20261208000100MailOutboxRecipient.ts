import { Migration } from '@mikro-orm/migrations';

/**
 * The mails one address was sent lately, which the account-requests worker counts before it adds
 * another (decision 029), without reading the whole outbox.
 */
export class Migration20261208000100MailOutboxRecipient extends Migration {
  override async up(): Promise<void> {
    this.addSql('CREATE INDEX mail_outbox_recipient ON mail_outbox (lower(recipient), created_at)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX mail_outbox_recipient');
  }
}
