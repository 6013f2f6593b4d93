import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PollingWorker } from '../database/polling-worker';
import { decideAfterFailure, describeDeliveryError, MailFailure } from './mail-backoff';
import { LogFingerprint } from '../common/logging/log.fingerprint';
import { describeFailure } from '../common/logging/sql-values';
import { MailOutboxEntity } from './mail-outbox.entity';
import { MailOutboxRepository } from './mail-outbox.repository';
import { MAIL_TRANSPORT, MailDeferredError, MailRejectedError, MailTransport } from './mail-transport';

/** Mails claimed per tick. */
export const OUTBOX_BATCH_SIZE = 20;

/** Mails of a batch handed to the transport at once: as many as its pooled SMTP connections. */
export const OUTBOX_SEND_CONCURRENCY = 5;

/**
 * How long a claimed batch is this instance's alone. Longer than a batch can take against a slow
 * SMTP server (its timeouts, times the batch over the connections), since a mail still being sent
 * when the lease ends could be sent by another instance too; short enough that the mails of an
 * instance that died are not held up for long.
 */
export const OUTBOX_LEASE_MS = 5 * 60_000;

/** What became of one delivery attempt, to be written to its row. */
type Outcome =
  | { kind: 'sent' }
  | { kind: 'retry'; delayMs: number; error: string; logged: string }
  | { kind: 'failed'; failure: MailFailure; error: string; logged: string }
  /** Claimed but not tried: the batch stopped first. */
  | { kind: 'untried' };

/** Delivery attempts so far in this process, by outcome, for the metrics. */
export interface DeliveryCounts {
  sent: number;
  temporary_failure: number;
  permanent_failure: number;
}

/**
 * Delivers the outbox. Each tick claims a batch of due mails in one short statement (a lease, see
 * `claimDueBatch`), sends them a few at a time, and records each outcome in a statement of its own
 * right after the SMTP server has answered: a mail is marked sent the moment it is, and nothing is
 * sent on behalf of a transaction that may already be dead.
 *
 * When a write fails (the database is gone), the batch stops at once: no mail is handed to SMTP
 * after that. The outcomes not yet written are kept in memory and written first by the next tick
 * that reaches the database, still within the lease, so a mail sent just before the outage is not
 * sent again. What remains at-least-once: an instance that stops or dies while holding such an
 * outcome, or an outage longer than the lease; those mails are sent again when the lease ends.
 * A retry, failure or release written after another worker has claimed the mail is dropped, and
 * a delivery is recorded whoever holds it (see `record`), so that re-send is the only one.
 */
@Injectable()
export class OutboxWorker extends PollingWorker {
  protected readonly logger = new Logger(OutboxWorker.name);
  private unrecorded: Array<{ mail: MailOutboxEntity; outcome: Outcome }> = [];
  /** Set when the service stops: no new send starts. */
  private stopping = false;
  /** The last attempt failed for now (the server down, busy or refusing for the moment). */
  private deliveryFailing = false;
  /** A mail went out after attempts that failed for now: the server is back. */
  private deliveryRecovered = false;
  readonly deliveries: DeliveryCounts = { sent: 0, temporary_failure: 0, permanent_failure: 0 };

  constructor(
    private readonly em: EntityManager,
    private readonly outbox: MailOutboxRepository,
    @Inject(MAIL_TRANSPORT) private readonly transport: MailTransport,
    @InjectConfig() private readonly config: AppConfig,
    private readonly fingerprint: LogFingerprint,
  ) {
    super('outbox', OUTBOX_BATCH_SIZE, config.mail.pollIntervalMs);
  }

  protected runBatch(): Promise<number> {
    return this.deliverBatch();
  }

  /**
   * A stop starts no new send: the batch in flight finishes the sends already started and gives
   * the rest back to the queue, for another instance or the next start, so a slow mail server
   * cannot hold the stop past an orchestrator's grace period (and a kill then cut sends midway).
   * A send the server keeps waiting (a relay that stalls before it answers) is waited for
   * SHUTDOWN_TIMEOUT_SECONDS at most, as requests in flight are: the stop goes on without it, and
   * its mail is sent again once its claim ends, a second copy if the server had taken it.
   * After the last tick, outcomes still unwritten get one more try, or are named in the log.
   */
  override async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    const waitMs = this.config.http.shutdownTimeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      super.onModuleDestroy().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
    ]).finally(() => clearTimeout(timer));
    if (!finished) {
      this.logger.warn(
        `stopping with mail sends still waiting on the mail server after ${waitMs / 1000} s: ` +
          'each is sent again once its claim ends, a second copy if the server had taken it',
      );
      return;
    }
    if (this.unrecorded.length === 0) return;
    try {
      await this.recordUnrecorded(this.em.fork());
    } catch (error) {
      const sent = this.unrecorded.filter(({ outcome }) => outcome.kind === 'sent').map(({ mail }) => mail.id);
      this.logger.warn(`stopping with ${this.unrecorded.length} mail outcome(s) not written (${describeFailure(error)}); mails sent but not marked will be sent again when their claim ends`, { sent });
    }
  }

  /** Writes what an earlier tick could not, claims a batch and delivers it. Answers how many were claimed. */
  async deliverBatch(): Promise<number> {
    const em = this.em.fork();
    await this.recordUnrecorded(em);
    const mails = await this.outbox.claimDueBatch(em, OUTBOX_BATCH_SIZE, OUTBOX_LEASE_MS);
    // Past half the lease, no new send starts: the rest go back to the queue.
    const sendUntil = Date.now() + OUTBOX_LEASE_MS / 2;
    const queue = [...mails];
    let databaseError: unknown;
    const lane = async () => {
      for (let mail = queue.shift(); mail !== undefined; mail = queue.shift()) {
        const outcome = databaseError === undefined && !this.stopping && Date.now() < sendUntil ? await this.attempt(mail) : ({ kind: 'untried' } as const);
        if (databaseError !== undefined) {
          this.unrecorded.push({ mail, outcome });
          continue;
        }
        try {
          await this.record(em, mail, outcome);
        } catch (error) {
          databaseError ??= error;
          this.unrecorded.push({ mail, outcome });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(OUTBOX_SEND_CONCURRENCY, mails.length) }, lane));
    if (databaseError !== undefined) throw databaseError;
    if (this.deliveryRecovered) {
      // Retries back off to an hour: without this, mail held through an outage would trickle out
      // for an hour after it ends, reset links expiring meanwhile.
      this.deliveryRecovered = false;
      const due = await this.outbox.retryBackedOffNow(em, OUTBOX_LEASE_MS);
      if (due > 0) this.logger.log(`mail delivery recovered: ${due} mail(s) waiting on a retry are due now`);
    }
    return mails.length;
  }

  /** The outcomes an earlier tick could not write, written before anything else is sent. */
  private async recordUnrecorded(em: EntityManager): Promise<void> {
    while (this.unrecorded.length > 0) {
      const { mail, outcome } = this.unrecorded[0];
      await this.record(em, mail, outcome);
      this.unrecorded.shift();
    }
  }

  /** Sends one mail and decides what follows; never throws. */
  private async attempt(mail: MailOutboxEntity): Promise<Outcome> {
    try {
      await this.transport.send({ to: mail.recipient, ...mail.payload });
      this.deliveries.sent++;
      if (this.deliveryFailing) {
        this.deliveryFailing = false;
        this.deliveryRecovered = true;
      }
      return { kind: 'sent' };
    } catch (reason) {
      const permanent = reason instanceof MailRejectedError;
      this.deliveries[permanent ? 'permanent_failure' : 'temporary_failure']++;
      // Only a failure of the server (down, busy, refusing every mail) is an outage to recover from.
      if (!permanent && !(reason instanceof MailDeferredError)) this.deliveryFailing = true;
      const error = describeDeliveryError(reason);
      // Log lines name the address only as its fingerprint; the row keeps the reply as it came.
      const logged = describeDeliveryError(reason, mail.recipient);
      const decision = decideAfterFailure(mail.attempts + 1, permanent, this.config.mail);
      return decision.outcome === 'retry' ? { kind: 'retry', delayMs: decision.delayMs, error, logged } : { kind: 'failed', failure: decision.failure, error, logged };
    }
  }

  /**
   * Writes one outcome, if the mail's claim is still this worker's. A claim lost meanwhile (its
   * lease ran out, in an outage or a send that long, and another worker took the mail) is that
   * worker's to finish: releasing the mail or moving its next attempt would let a third claim send
   * it again. A delivery is written whatever the claim, so that the next claim's outcome is moot.
   */
  private async record(em: EntityManager, mail: MailOutboxEntity, outcome: Outcome): Promise<void> {
    const about = `mail ${mail.id} (${mail.template})`;
    // The address only as its domain and keyed hash; a server's reply may quote it too.
    const recipient = this.fingerprint.email(mail.recipient);
    const error = 'logged' in outcome ? outcome.logged : '';
    const attempts = mail.attempts + 1;
    switch (outcome.kind) {
      case 'sent':
        if (await this.outbox.markSent(em, mail)) this.logger.debug(`${about} sent`, recipient);
        else this.logger.warn(`${about} sent, and another worker had already recorded it sent or failed: its claim ran out meanwhile, and it may have arrived twice`, recipient);
        return;
      case 'retry':
        if (!(await this.outbox.markRetry(em, mail, outcome.delayMs, outcome.error))) return this.claimLost(about, outcome, recipient);
        this.logger.warn(`${about}: attempt ${attempts} failed, retrying in ${outcome.delayMs} ms: ${error}`, recipient);
        return;
      case 'failed':
        if (!(await this.outbox.markFailed(em, mail, outcome.failure, outcome.error))) return this.claimLost(about, outcome, recipient);
        this.logger.error(
          outcome.failure === 'rejected'
            ? `${about} rejected by the mail server, not retried: ${error}`
            : `${about} failed for good after ${attempts} attempt(s): ${error}`,
          recipient,
        );
        return;
      case 'untried':
        if (!(await this.outbox.release(em, mail))) this.claimLost(about, outcome, recipient);
        return;
    }
  }

  /** A retry, failure or release that lost its claim: the mail is the new claim's to decide. */
  private claimLost(about: string, outcome: Outcome, recipient: ReturnType<LogFingerprint['email']>): void {
    this.logger.debug(`${about}: outcome "${outcome.kind}" not written, its claim ran out and another worker has taken the mail since`, recipient);
  }
}
