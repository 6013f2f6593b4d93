import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { TIMESTAMP_WITH_ZONE } from '../common/time/timestamp-with-zone';
import { AppConfig, loadConfig } from '../config/app-config';
import { withCommandDatabase } from '../database/embedded-postgres';
import { assertSchemaCurrent } from '../database/migrate';
import { ormOptions } from '../database/mikro-orm.options';
import { MailOutboxEntity } from '../mail/mail-outbox.entity';
import { FailedMailSelection, MailOutboxRepository } from '../mail/mail-outbox.repository';

const USAGE = 'usage: npm run mail:resend -- --id <outbox id> | --all-failed | --since <ISO time, e.g. 2026-12-05T08:00:00Z>';

/** The one selection the arguments name; throws the usage line otherwise. */
export function parseResendArguments(args: string[]): FailedMailSelection {
  const [flag, value, ...rest] = args;
  if (flag === '--all-failed' && value === undefined) return { allFailed: true };
  if (flag === '--id' && value !== undefined && /^\d{1,19}$/.test(value) && rest.length === 0) return { id: value };
  if (flag === '--since' && value !== undefined && rest.length === 0 && TIMESTAMP_WITH_ZONE.test(value)) {
    const since = new Date(value);
    if (!Number.isNaN(since.getTime())) return { since };
  }
  throw new Error(USAGE);
}

/**
 * Puts failed mails back in the outbox with their content as it was; the running service's
 * workers send them on their next poll, with a fresh round of attempts.
 */
export async function resendFailedMails(config: AppConfig, selection: FailedMailSelection): Promise<{ requeued: string[]; withoutBody: string[] }> {
  const orm = await MikroORM.init({ ...ormOptions(config.database.url, 2), entities: [MailOutboxEntity] });
  try {
    await assertSchemaCurrent(orm);
    return await new MailOutboxRepository().requeueFailed(orm.em.fork(), selection);
  } finally {
    await orm.close();
  }
}

/** `npm run mail:resend -- …`: against DATABASE_URL, or the embedded database. */
async function main(): Promise<void> {
  const selection = parseResendArguments(process.argv.slice(2));
  const config = loadConfig();
  const { requeued, withoutBody } = await withCommandDatabase(config, () => resendFailedMails(config, selection));
  if (requeued.length > 0) process.stdout.write(`requeued ${requeued.length} failed mail(s), sent on the service's next poll: ${requeued.join(', ')}\n`);
  if (withoutBody.length > 0) {
    process.stdout.write(`not requeued, their text was removed when they failed (before failed mails kept it): ${withoutBody.join(', ')}\n`);
  }
  if (requeued.length === 0 && withoutBody.length === 0) {
    process.stdout.write('id' in selection ? `no failed mail with id ${selection.id}\n` : 'no failed mail matches\n');
    if ('id' in selection) process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`mail resend failed: ${error?.message ?? error}\n`);
    process.exit(error?.message === USAGE ? 2 : 1);
  });
}
