import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000100Users extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email varchar(320) NOT NULL,
        password_hash text NOT NULL,
        email_confirmed_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Emails are stored lower-cased; the index on lower() also guards rows written by hand.
    this.addSql('CREATE UNIQUE INDEX users_email_lower_unique ON users (lower(email))');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE users');
  }
}
