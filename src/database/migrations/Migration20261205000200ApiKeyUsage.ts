import { Migration } from '@mikro-orm/migrations';

/**
 * Usage per API key: where its last use came from (beside `last_used_at`), and how many requests
 * it made per UTC day, admitted or refused, for the last 90 days. Written in batches by the usage
 * recorder, never on the request path.
 */
export class Migration20261205000200ApiKeyUsage extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE api_keys ADD COLUMN last_used_ip varchar(64) NULL');
    this.addSql('ALTER TABLE api_keys ADD COLUMN last_used_user_agent varchar(512) NULL');
    this.addSql(`
      CREATE TABLE api_key_usage_days (
        api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        day date NOT NULL,
        succeeded bigint NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
        refused bigint NOT NULL DEFAULT 0 CHECK (refused >= 0),
        PRIMARY KEY (api_key_id, day)
      )`);
    // Pruning deletes by day across every key.
    this.addSql('CREATE INDEX api_key_usage_days_day ON api_key_usage_days (day)');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE api_key_usage_days');
    this.addSql('ALTER TABLE api_keys DROP COLUMN last_used_user_agent');
    this.addSql('ALTER TABLE api_keys DROP COLUMN last_used_ip');
  }
}
