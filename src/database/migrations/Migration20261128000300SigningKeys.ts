import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000300SigningKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE signing_keys (
        kid varchar(64) PRIMARY KEY,
        algorithm varchar(16) NOT NULL,
        public_key text NOT NULL,
        private_key_encrypted text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retire_at timestamptz NULL
      )`);
    // At most one current (signing) key: instances that start together on an empty database race
    // to insert one, and this index lets exactly one insert win.
    this.addSql('CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys ((retire_at IS NULL)) WHERE retire_at IS NULL');
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE signing_keys');
  }
}
