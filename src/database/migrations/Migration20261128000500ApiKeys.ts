import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000500ApiKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name varchar(100) NULL,
        key_prefix varchar(10) NOT NULL,
        key_hash bytea NOT NULL CHECK (octet_length(key_hash) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NULL,
        expires_at timestamptz NULL,
        revoked_at timestamptz NULL
      )`);
    // Every authenticated request with a key looks it up by hash (when the cache misses).
    this.addSql('CREATE UNIQUE INDEX api_keys_key_hash_unique ON api_keys (key_hash)');
    // Listing and counting a user's active keys, newest first.
    this.addSql('CREATE INDEX api_keys_user_active_idx ON api_keys (user_id, created_at DESC) WHERE revoked_at IS NULL');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE api_keys');
  }
}
