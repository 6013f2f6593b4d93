import { Migration } from '@mikro-orm/migrations';

/**
 * The hashes of deleted API keys, so that a leak report of a key deleted after its retention
 * (`RetentionWorker`), or by an operator, is still told from a made-up key with a valid checksum
 * (`LeakedApiKeysRepository.findIssued`). Only the hash and when the row went: nothing of the owner.
 *
 * Written by a trigger rather than by the retention worker, so that every DELETE of a row (a
 * cascade from a deleted user, an operator's own statement) leaves its hash too; TRUNCATE fires
 * no DELETE trigger. One statement-level trigger: a purge of a batch of keys is one INSERT, not one
 * per key.
 *
 * The function runs as its owner (the role that migrates), with the search path of the migration:
 * a role that may delete keys but was granted nothing on this table, or a session with another
 * search path, still deletes them, where running as the caller made such a DELETE fail.
 */
export class Migration20261211000200DeletedApiKeyHashes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE deleted_api_key_hashes (
        key_hash bytea PRIMARY KEY,
        deleted_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql(`
      CREATE FUNCTION atiru_keep_deleted_api_key_hashes() RETURNS trigger LANGUAGE plpgsql
      SECURITY DEFINER SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO deleted_api_key_hashes (key_hash) SELECT key_hash FROM deleted_keys ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE TRIGGER api_keys_keep_deleted_hashes AFTER DELETE ON api_keys
      REFERENCING OLD TABLE AS deleted_keys
      FOR EACH STATEMENT
      EXECUTE FUNCTION atiru_keep_deleted_api_key_hashes()`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TRIGGER api_keys_keep_deleted_hashes ON api_keys');
    this.addSql('DROP FUNCTION atiru_keep_deleted_api_key_hashes()');
    this.addSql('DROP TABLE deleted_api_key_hashes');
  }
}
