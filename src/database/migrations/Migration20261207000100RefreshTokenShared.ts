import { Migration } from '@mikro-orm/migrations';

/**
 * When a replay handed a refresh token to a second presenter (docs/decisions/024): such a token is
 * held twice, and its own retirement allows no replay.
 */
export class Migration20261207000100RefreshTokenShared extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE refresh_tokens ADD COLUMN shared_at timestamptz NULL');
  }

  override async down(): Promise<void> {
    this.addSql('ALTER TABLE refresh_tokens DROP COLUMN shared_at');
  }
}
