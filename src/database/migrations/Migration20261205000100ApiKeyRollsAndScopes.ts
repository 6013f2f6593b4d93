import { Migration } from '@mikro-orm/migrations';

/** API keys can be limited to scopes, and rolled: the old key names the one that replaced it. */
export class Migration20261205000100ApiKeyRollsAndScopes extends Migration {
  override async up(): Promise<void> {
    // NULL: a key without scopes, which may do everything (every key made before this migration).
    this.addSql('ALTER TABLE api_keys ADD COLUMN scopes text[] NULL CHECK (cardinality(scopes) > 0)');
    this.addSql('ALTER TABLE api_keys ADD COLUMN replaced_by uuid NULL REFERENCES api_keys (id) ON DELETE SET NULL');
  }

  override async down(): Promise<void> {
    this.addSql('ALTER TABLE api_keys DROP COLUMN replaced_by, DROP COLUMN scopes');
  }
}
