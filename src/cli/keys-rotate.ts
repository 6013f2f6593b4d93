import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { setTimeout as sleep } from 'node:timers/promises';
import { SigningKeyCipher } from '../auth/keys/signing-key.cipher';
import { SigningKeyEntity } from '../auth/keys/signing-key.entity';
import { SigningKeysRepository } from '../auth/keys/signing-keys.repository';
import { JWKS_MAX_AGE_SECONDS, KEY_RELOAD_INTERVAL_MS, RetirementResult, RotationResult, SigningKeysService } from '../auth/keys/signing-keys.service';
import { AppConfig, loadConfig } from '../config/app-config';
import { withCommandDatabase } from '../database/embedded-postgres';
import { assertSchemaCurrent } from '../database/migrate';
import { ormOptions } from '../database/mikro-orm.options';
import { ACK_TIMEOUT_MS } from '../database/revocation-channel';

export const USAGE = `usage: npm run keys:rotate [-- --retire-now | --new-secret]

  (no option)    adds a signing key: published at once, it signs once services that cache the
                 JWKS can know it (about two minutes), and the previous key verifies the tokens
                 it signed until they expire, so no token is refused. Sealed with
                 SIGNING_KEY_ENCRYPTION_SECRET, which must be the running instances' (the command
                 refuses another: they could not open the key).
  --new-secret   the same, sealed with a new SIGNING_KEY_ENCRYPTION_SECRET (changing it, or after
                 losing it): restart every instance with the new secret within the hour. See
                 docs/operations.md.
  --retire-now   for a signing key that may be compromised: a new key signs at once and every
                 older key stops verifying now; by the time the command returns, no instance
                 accepts a token they signed. Every access token in circulation is refused at
                 once; clients get new ones with their refresh tokens (nobody is signed out).
                 Services that cache the JWKS must fetch it again, or they accept the old keys'
                 tokens, and refuse the new key's, until their copy expires. See the compromised
                 key runbook in docs/operations.md.
`;

export interface RotateArguments {
  retireNow: boolean;
  newSecret: boolean;
}

/** What the arguments ask for; 'help' for --help; throws the usage text for anything else. */
export function parseRotateArguments(args: string[]): RotateArguments | 'help' {
  if (args.length === 0) return { retireNow: false, newSecret: false };
  if (args.length === 1 && args[0] === '--retire-now') return { retireNow: true, newSecret: false };
  if (args.length === 1 && args[0] === '--new-secret') return { retireNow: false, newSecret: true };
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) return 'help';
  throw new Error(USAGE);
}

/** Adds a signing key, published at once and signing once verifiers can know it; running instances pick it up through NOTIFY. */
export function rotateSigningKeys(config: AppConfig, options: { newSecret?: boolean } = {}): Promise<RotationResult> {
  return withSigningKeys(config, (keys) => keys.rotate(options));
}

/**
 * Retires every signing key at once and adds one that signs at once (`--retire-now`). Resolves
 * once no instance accepts a token the retired keys signed: ACK_TIMEOUT_MS after the commit, by
 * when an instance that did not hear it has stopped answering tokens from memory (decision 028).
 */
export async function retireSigningKeysNow(config: AppConfig): Promise<RetirementResult & { refusedEverywhereFrom: Date }> {
  const retirement = await withSigningKeys(config, (keys) => keys.retireNow());
  await sleep(ACK_TIMEOUT_MS);
  return { ...retirement, refusedEverywhereFrom: new Date() };
}

async function withSigningKeys<T>(config: AppConfig, work: (keys: SigningKeysService) => Promise<T>): Promise<T> {
  if (config.tokens.signingKeyPem) {
    throw new Error(
      'SIGNING_KEY_PEM is set, so the service signs with that key: rotate by putting a new key first in SIGNING_KEY_PEM ' +
        '(for a compromised key, the new key alone, then restart every instance; docs/operations.md)',
    );
  }
  const orm = await MikroORM.init({ ...ormOptions(config.database.url, 2), entities: [SigningKeyEntity] });
  try {
    await assertSchemaCurrent(orm);
    return await work(new SigningKeysService(orm.em, new SigningKeysRepository(orm.em), new SigningKeyCipher(config), config));
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

/** What `npm run keys:rotate -- --retire-now` prints. */
export function describeRetirement({ kid, signsFrom, retired, refusedEverywhereFrom }: RetirementResult & { refusedEverywhereFrom: Date }): string {
  return (
    `new signing key ${kid} signs access tokens from ${signsFrom.toISOString()}\n` +
    (retired.length > 0
      ? `retired at once, no longer verifying or published: ${retired.join(', ')}\n` +
        `no instance accepts an access token they signed since ${refusedEverywhereFrom.toISOString()}; clients get new ones with their refresh tokens\n` +
        `services that cache the JWKS must fetch it again now, and again after ${(KEY_RELOAD_INTERVAL_MS / 1000 + JWKS_MAX_AGE_SECONDS).toString()} s ` +
        `(an instance that heard nothing may publish the old keys until its next reload, and a copy lives ${JWKS_MAX_AGE_SECONDS} s)\n`
      : 'there was no previous key\n')
  );
}

/** `npm run keys:rotate [-- --retire-now | --new-secret]`: against DATABASE_URL, or the embedded database. */
async function main(): Promise<void> {
  const args = parseRotateArguments(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig();
  if (args.retireNow) {
    process.stdout.write(describeRetirement(await withCommandDatabase(config, () => retireSigningKeysNow(config))));
  } else {
    process.stdout.write(describeRotation(await withCommandDatabase(config, () => rotateSigningKeys(config, { newSecret: args.newSecret }))));
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(error?.message === USAGE ? USAGE : `key rotation failed: ${error?.message ?? error}\n`);
    process.exit(error?.message === USAGE ? 2 : 1);
  });
}
