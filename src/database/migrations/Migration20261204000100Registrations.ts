import { Migration } from '@mikro-orm/migrations';

/**
 * Registrations stay pending, each with its own password hash and confirmation token, until a link
 * is clicked: the clicked one becomes the user, the others are discarded. Requests that only mail
 * (resend-confirmation, forgot-password) are queued as they come and decided later by a worker,
 * so the request itself does the same work whether or not the account exists.
 */
export class Migration20261204000100Registrations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE registrations (
        id uuid PRIMARY KEY,
        email varchar(320) NOT NULL,
        password_hash text NOT NULL,
        redirect_to varchar(2048) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        processed_at timestamptz NULL
      )`);
    // Login and confirmation look registrations up by address, newest first.
    this.addSql('CREATE INDEX registrations_email ON registrations (email, created_at DESC)');
    // The worker's queue: registrations it has not decided about yet.
    this.addSql('CREATE INDEX registrations_unprocessed ON registrations (created_at) WHERE processed_at IS NULL');
    this.addSql('CREATE INDEX registrations_expires ON registrations (expires_at)');

    this.addSql(`
      CREATE TABLE account_requests (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind varchar(32) NOT NULL CHECK (kind IN ('resend_confirmation', 'forgot_password')),
        email varchar(320) NOT NULL,
        redirect_to varchar(2048) NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    // A confirmation token belongs to a pending registration until it is used; then to the user.
    this.addSql('ALTER TABLE one_time_tokens ALTER COLUMN user_id DROP NOT NULL');
    this.addSql('ALTER TABLE one_time_tokens ADD COLUMN registration_id uuid NULL REFERENCES registrations (id) ON DELETE CASCADE');
    this.addSql('ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_one_owner CHECK (num_nonnulls(user_id, registration_id) = 1)');
    this.addSql('CREATE INDEX one_time_tokens_registration ON one_time_tokens (registration_id) WHERE registration_id IS NOT NULL');
  }

  override async down(): Promise<void> {
    this.addSql('DELETE FROM one_time_tokens WHERE registration_id IS NOT NULL');
    this.addSql('ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_one_owner');
    this.addSql('ALTER TABLE one_time_tokens DROP COLUMN registration_id');
    this.addSql('ALTER TABLE one_time_tokens ALTER COLUMN user_id SET NOT NULL');
    this.addSql('DROP TABLE account_requests');
    this.addSql('DROP TABLE registrations');
  }
}
