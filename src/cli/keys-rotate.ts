import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { SigningKeyCipher } from '../auth/keys/signing-key.cipher';
import { SigningKeyEntity } from '../auth/keys/signing-key.entity';
import { SigningKeysRepository } from '../auth/keys/signing-keys.repository';
import { RotationResult, SigningKeysService } from '../auth/keys/signing-keys.service';
import { AppConfig, loadConfig } from '../config/app-config';
import { withCommandDatabase } from '../database/embedded-postgres';
import { runMigrations } from '../database/migrate';
import { ormOptions } from '../database/mikro-orm.options';

/** Adds a signing key, published at once and signing once verifiers can know it; running instances pick it up through NOTIFY. */
export async function rotateSigningKeys(config: AppConfig): Promise<RotationResult> {
  if (config.tokens.signingKeyPem) {
    throw new Error('SIGNING_KEY_PEM is set, so the service signs with that key: rotate by putting a new key first in SIGNING_KEY_PEM');
  }
  const orm = await MikroORM.init({ ...ormOptions(config.database.url, 2), entities: [SigningKeyEntity] });
  try {
    if (config.database.migrateOnStart) await runMigrations(orm, config.database.url);
    const keys = new SigningKeysService(orm.em, new SigningKeysRepository(orm.em), new SigningKeyCipher(config), config);
    return await keys.rotate();
  } finally {
    await orm.close();
  }
}

/** What `npm run keys:rotate` prints about a rotation. */
export function describeRotation({ kid, signsFrom, previousRetireAt }: RotationResult): string {
  return (
    `new signing key ${kid} is published now and signs access tokens from ${signsFrom.toISOString()}\n` +
    (previousRetireAt
      ? `the previous key signs until then and verifies the tokens it signed until ${previousRetireAt.toISOString()}, then retires\n`
      : 'there was no previous key\n')
  );
}

/** `npm run keys:rotate`: against DATABASE_URL, or the embedded database. */
async function main(): Promise<void> {
  const config = loadConfig();
  process.stdout.write(describeRotation(await withCommandDatabase(config, () => rotateSigningKeys(config))));
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`key rotation failed: ${error?.message ?? error}\n`);
    process.exit(1);
  });
}
