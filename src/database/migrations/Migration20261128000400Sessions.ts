import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000400Sessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        refreshed_at timestamptz NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz NULL,
        revoked_reason varchar(32) NULL,
        user_agent varchar(512) NULL,
        ip varchar(64) NULL
      )`);
    this.addSql('CREATE INDEX sessions_user_active ON sessions (user_id) WHERE revoked_at IS NULL');

    // replaced_by points at a row inserted after the update that sets it, hence deferred.
    this.addSql(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY,
        token_hash char(64) NOT NULL,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        parent_id uuid NULL REFERENCES refresh_tokens (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        retired_at timestamptz NULL,
        replaced_by_id uuid NULL REFERENCES refresh_tokens (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
        successor_sealed bytea NULL
      )`);
    this.addSql('CREATE UNIQUE INDEX refresh_tokens_hash_unique ON refresh_tokens (token_hash)');
    this.addSql('CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)');
    // The database itself refuses a second live token in one session: a session is one chain.
    this.addSql('CREATE UNIQUE INDEX refresh_tokens_one_live_per_session ON refresh_tokens (session_id) WHERE retired_at IS NULL');

    this.addSql(`
      CREATE TABLE one_time_tokens (
        id uuid PRIMARY KEY,
        token_hash char(64) NOT NULL,
        purpose varchar(32) NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz NULL,
        redirect_to varchar(2048) NULL
      )`);
    this.addSql('CREATE UNIQUE INDEX one_time_tokens_hash_unique ON one_time_tokens (token_hash)');
    this.addSql('CREATE INDEX one_time_tokens_user_purpose ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE one_time_tokens');
    this.addSql('DROP TABLE refresh_tokens');
    this.addSql('DROP TABLE sessions');
  }
}
