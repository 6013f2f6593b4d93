import { Migration } from '@mikro-orm/migrations';

/**
 * A credential revoked in SQL (by an operator, a bulk revoke during an incident, a cascade from a
 * deleted user) is heard by every instance, as one revoked through the API is: triggers on
 * `api_keys` and `sessions` send the revocation channels' own message when a row that may still
 * be served is revoked, deleted, or ends earlier, so instances forget it from memory when the
 * change commits.
 *
 * The message is `revoked::<subject>`: the channels' `revoked:<revocation id>:<subject>` without a
 * revocation id, since nobody waits for an acknowledgement of it (`RevocationChannel`). Channels
 * and subjects are those of `API_KEY_REVOKED_CHANNEL` (the key's SHA-256, hex) and
 * `SESSION_REVOKED_CHANNEL` (the user id), written out here so that this migration keeps meaning
 * what it meant when it ran. A revocation made through the API is heard twice, once from its
 * announcement and once from the trigger; forgetting is idempotent.
 *
 * Each trigger says in its `WHEN` which rows it is for, so the writes that change nothing an
 * instance holds (usage counts, a refresh moving a session's end later, the purge of rows ended
 * long ago) never call the function. A row may still be served while it is not revoked and its
 * expiry is no more than a few minutes past: the margin covers an instance whose clock is behind
 * the database's.
 */
export class Migration20261206000100RevocationNotify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION atiru_notify_api_key_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('api_key_revoked', 'revoked::' || encode(OLD.key_hash, 'hex'));
        RETURN NULL;
      END $$`);
    // An instance holds a key's expiry and scopes: any change to them is read again, a later
    // expiry included (else the key would be refused at its old end, and remembered as refused).
    this.addSql(`
      CREATE TRIGGER api_keys_notify_revoked AFTER UPDATE OF revoked_at, expires_at, scopes, user_id, key_hash ON api_keys
      FOR EACH ROW
      WHEN (OLD.revoked_at IS NULL AND (OLD.expires_at IS NULL OR OLD.expires_at > now() - interval '5 minutes')
        AND (NEW.revoked_at IS NOT NULL OR NEW.expires_at IS DISTINCT FROM OLD.expires_at OR NEW.scopes IS DISTINCT FROM OLD.scopes
          OR NEW.user_id <> OLD.user_id OR NEW.key_hash <> OLD.key_hash))
      EXECUTE FUNCTION atiru_notify_api_key_revoked()`);
    this.addSql(`
      CREATE TRIGGER api_keys_notify_deleted AFTER DELETE ON api_keys
      FOR EACH ROW
      WHEN (OLD.revoked_at IS NULL AND (OLD.expires_at IS NULL OR OLD.expires_at > now() - interval '5 minutes'))
      EXECUTE FUNCTION atiru_notify_api_key_revoked()`);

    this.addSql(`
      CREATE FUNCTION atiru_notify_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('session_revoked', 'revoked::' || OLD.user_id::text);
        RETURN NULL;
      END $$`);
    // A refresh moves a session's end later: an instance re-reads a token's session once the end
    // it knew has passed, so only an earlier end needs telling. Every row of a user revoked in one
    // transaction sends the same message, which PostgreSQL delivers once.
    this.addSql(`
      CREATE TRIGGER sessions_notify_revoked AFTER UPDATE OF revoked_at, expires_at, user_id ON sessions
      FOR EACH ROW
      WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now() - interval '5 minutes'
        AND (NEW.revoked_at IS NOT NULL OR NEW.expires_at < OLD.expires_at OR NEW.user_id <> OLD.user_id))
      EXECUTE FUNCTION atiru_notify_session_revoked()`);
    this.addSql(`
      CREATE TRIGGER sessions_notify_deleted AFTER DELETE ON sessions
      FOR EACH ROW
      WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now() - interval '5 minutes')
      EXECUTE FUNCTION atiru_notify_session_revoked()`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TRIGGER sessions_notify_deleted ON sessions');
    this.addSql('DROP TRIGGER sessions_notify_revoked ON sessions');
    this.addSql('DROP FUNCTION atiru_notify_session_revoked()');
    this.addSql('DROP TRIGGER api_keys_notify_deleted ON api_keys');
    this.addSql('DROP TRIGGER api_keys_notify_revoked ON api_keys');
    this.addSql('DROP FUNCTION atiru_notify_api_key_revoked()');
  }
}
