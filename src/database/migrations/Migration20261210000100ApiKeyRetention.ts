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
    // Deleting a key sets `replaced_by` to NULL in the key rolled to it (ON DELETE SET NULL), and
    // the purge asks whether a working key still names it: without this, each deleted key reads
    // the table.
    this.addSql('CREATE INDEX api_keys_replaced_by ON api_keys (replaced_by) WHERE replaced_by IS NOT NULL');
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX api_keys_replaced_by');
    this.addSql('DROP INDEX api_keys_ended_at');
  }
}
