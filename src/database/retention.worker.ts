import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PollingWorker } from './polling-worker';

/** Rows deleted per statement: short statements, so no lock is held long and no instance waits on another. */
export const RETENTION_BATCH_SIZE = 1000;
/**
 * Sessions deleted per statement: each takes its chain of refresh tokens with it (one per refresh),
 * so a batch of sessions deletes many more rows than it names.
 */
export const RETENTION_SESSION_BATCH_SIZE = 100;
/** API keys deleted per statement: each takes its usage days with it, one per day it was used, within their retention. */
export const RETENTION_API_KEY_BATCH_SIZE = 100;
/** How often each instance looks for rows past their retention; a full batch is followed at once by the next. */
const RETENTION_INTERVAL_MS = 15 * 60_000;

/** One kind of row that ends, and how long it stays after it has. */
interface RetentionRule {
  /** What the log calls these rows. */
  what: string;
  table: string;
  /** Which rows of the table this rule is about (the rest are never deleted by it). */
  rows: string;
  /** When such a row ended; it matches an index, so finding the rows past retention reads only them. */
  endedAt: string;
  days: number;
  batchSize: number;
}

/**
 * A key that another key names as its replacement (`replaced_by`, a roll) waits until that one is
 * deleted: a roll's chain goes from its oldest end, a link a round. Deleting a key then changes no
 * other row (its `ON DELETE SET NULL` finds none), so instances purging at once never wait on each
 * other's rows, where clearing the name in a key another instance had locked made them wait and, a
 * chain's links taken in both orders, deadlock. It also keeps a key rolled to from a key still in
 * its grace period: the list shows the roll, and the cap on rolled keys counts it.
 */
const NAMED_BY_NO_KEY = 'NOT EXISTS (SELECT 1 FROM api_keys AS rolled WHERE rolled.replaced_by = api_keys.id)';

/** Rows deleted by one round of every rule, by what the rule calls them. */
export type Purged = Record<string, number>;

/**
 * Deletes rows that served their purpose, some days after they did (`retention` in the config):
 * sent mails (their bodies were dropped when sent, the recipient and subject stay), mails that
 * failed for good (kept meanwhile, bodies and all, for `npm run mail:resend`), expired one-time
 * tokens, ended sessions with their refresh tokens, and ended API keys with their usage days (a
 * trigger keeps each deleted key's hash, so a leak report of it is still told ours: decision 034).
 * Pending mails, live tokens, live sessions and working keys are never touched. Nothing serves a
 * row ended this long ago, so deleting it notifies no instance (the revocation triggers' `WHEN`).
 *
 * Every instance runs it, away from requests: each statement deletes one small batch, chosen
 * with `FOR UPDATE SKIP LOCKED`, so instances purging at once take different rows and never wait
 * on each other, nor on a request that holds a row (a refresh locking its session). A full batch
 * means more are waiting: the next round starts at once, so a backlog (the first run after an
 * upgrade) drains in consecutive short statements rather than one long one.
 *
 * The other tables that grow are purged where they are used: registrations by the account-requests
 * worker, API-key usage days by the usage recorder; account requests leave their queue when taken.
 */
@Injectable()
export class RetentionWorker extends PollingWorker {
  protected readonly logger = new Logger(RetentionWorker.name);
  private readonly rules: RetentionRule[];

  constructor(
    private readonly em: EntityManager,
    @InjectConfig() config: AppConfig,
  ) {
    super('retention', RETENTION_BATCH_SIZE, RETENTION_INTERVAL_MS);
    const { mailDays, sessionDays, oneTimeTokenDays, apiKeyDays } = config.retention;
    this.rules = [
      { what: 'sent mails', table: 'mail_outbox', rows: `status = 'sent'`, endedAt: 'sent_at', days: mailDays, batchSize: RETENTION_BATCH_SIZE },
      { what: 'failed mails', table: 'mail_outbox', rows: `status = 'failed'`, endedAt: 'failed_at', days: mailDays, batchSize: RETENTION_BATCH_SIZE },
      { what: 'expired one-time tokens', table: 'one_time_tokens', rows: 'true', endedAt: 'expires_at', days: oneTimeTokenDays, batchSize: RETENTION_BATCH_SIZE },
      { what: 'ended sessions', table: 'sessions', rows: 'true', endedAt: 'least(revoked_at, expires_at)', days: sessionDays, batchSize: RETENTION_SESSION_BATCH_SIZE },
      { what: 'ended API keys', table: 'api_keys', rows: NAMED_BY_NO_KEY, endedAt: 'least(revoked_at, expires_at)', days: apiKeyDays, batchSize: RETENTION_API_KEY_BATCH_SIZE },
    ];
  }

  /** A full batch of any rule counts as a full tick: the next one starts at once. */
  protected async runBatch(): Promise<number> {
    const purged = await this.purge();
    const full = this.rules.some((rule) => purged[rule.what] >= rule.batchSize);
    return full ? RETENTION_BATCH_SIZE : 0;
  }

  /** One batch of every rule, each its own statement (and transaction). Answers how many rows each deleted. */
  async purge(): Promise<Purged> {
    const connection = this.em.fork().getConnection();
    const purged: Purged = {};
    for (const rule of this.rules) {
      const result = await connection.execute<{ affectedRows: number }>(
        `DELETE FROM ${rule.table} WHERE id IN (
           SELECT id FROM ${rule.table} WHERE ${rule.rows} AND ${rule.endedAt} < now() - ? * interval '1 day'
           LIMIT ? FOR UPDATE SKIP LOCKED)`,
        [rule.days, rule.batchSize],
        'run',
      );
      purged[rule.what] = result.affectedRows;
    }
    const deleted = Object.entries(purged).filter(([, count]) => count > 0);
    if (deleted.length > 0) this.logger.debug(`deleted ${deleted.map(([what, count]) => `${count} ${what}`).join(', ')} past their retention`);
    return purged;
  }
}
