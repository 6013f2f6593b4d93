import { Migration } from '@mikro-orm/migrations';

/**
 * What the retention worker needs to delete API keys that ended long ago (`RetentionWorker`)
 * without reading the whole table, once to find them and once per key deleted.
 */
export class Migration20261210000100ApiKeyRetention extends Migration {
  override async up(): Promise<void> {
    // When a key ended: revoked, or expired, whichever came first (least() skips a NULL). A
    // partial index would leave out the keys that never end, but the planner cannot match the
    // purge's range on the expression to a predicate on the two columns.
    this.addSql('CREATE INDEX api_keys_ended_at ON api_keys ((least(revoked_at, expires_at)))');
    // The purge asks whether any key names a key as its replacement, and deleting a key looks for
    // the keys that name it (ON DELETE SET NULL): without this, each reads the table.
    this.addSql('CREATE INDEX api_keys_replaced_by ON api_keys (replaced_by) WHERE replaced_by IS NOT NULL');
    // The planner has no statistics for the new expression until the table is analysed, and until
    // then reads the whole table each round rather than the index.
    this.addSql('ANALYZE api_keys');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX api_keys_replaced_by');
    this.addSql('DROP INDEX api_keys_ended_at');
  }
}
