import { Migration } from '@mikro-orm/migrations';

/**
 * Every change to a user row, from the service or by hand, notifies `atiru_user_changed` with the
 * user id when it commits, so every instance drops its cached copy at once.
 */
export class Migration20261128000600UserChangeNotify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION atiru_notify_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('atiru_user_changed', OLD.id::text);
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE TRIGGER users_notify_changed AFTER UPDATE OR DELETE ON users
      FOR EACH ROW EXECUTE FUNCTION atiru_notify_user_changed()`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TRIGGER users_notify_changed ON users');
    this.addSql('DROP FUNCTION atiru_notify_user_changed()');
  }
}
