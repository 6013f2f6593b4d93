import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000200MailOutbox extends Migration {
  override async up(): Promise<void> {
    // payload holds the rendered mail (subject, text, html): what commits is exactly what is sent.
    this.addSql(`
      CREATE TABLE mail_outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        recipient varchar(320) NOT NULL,
        template varchar(64) NOT NULL,
        payload jsonb NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz NULL
      )`);
    // The worker's query: pending rows that are due, oldest first. Sent and failed rows stay out of it.
    this.addSql(`CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE status = 'pending'`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE mail_outbox');
  }
}
