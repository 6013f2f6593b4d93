import { Migration } from '@mikro-orm/migrations';

/**
 * The inbox each mail goes to (`inboxOf`: the address without its sub-address, at Gmail without
 * dots), which the cap on the mails one inbox gets counts (decision 029), so that one inbox under
 * many names has one cap rather than one per name.
 *
 * Safe on a live outbox: a column without a default rewrites no row. Mails queued before it, and by
 * an instance of the previous release during a rolling deploy, have no inbox: the count reads them
 * by their address, as that release did (`MailOutboxRepository.countQueuedTo`), so the cap loses
 * nothing across the deploy. Once no such mail is within any cap's window, a later release can fill
 * the old rows and drop that clause.
 */
export class Migration20261212000100MailOutboxInbox extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE mail_outbox ADD COLUMN inbox varchar(320)');
    this.addSql('CREATE INDEX mail_outbox_inbox ON mail_outbox (inbox, created_at)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX mail_outbox_inbox');
    this.addSql('ALTER TABLE mail_outbox DROP COLUMN inbox');
  }
}
