import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PollingWorker } from '../database/polling-worker';
import { describeDeliveryError, retryDelayMs } from './mail-backoff';
import { MailOutboxEntity } from './mail-outbox.entity';
import { MailOutboxRepository } from './mail-outbox.repository';
import { MAIL_TRANSPORT, MailTransport } from './mail-transport';
import { inTransaction } from '../database/transaction';

/** Mails locked and sent per transaction. */
export const OUTBOX_BATCH_SIZE = 20;

/**
 * Delivers the outbox. Each tick locks a batch of due mails (`FOR UPDATE SKIP LOCKED`), sends them
 * and records the outcome in the same transaction, so the locks last until the outcome is
 * committed: two instances never send one mail twice, and a crash mid-batch releases the rows to
 * be sent again rather than losing them.
 */
@Injectable()
export class OutboxWorker extends PollingWorker {
  protected readonly logger = new Logger(OutboxWorker.name);

  constructor(
    private readonly em: EntityManager,
    private readonly outbox: MailOutboxRepository,
    @Inject(MAIL_TRANSPORT) private readonly transport: MailTransport,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super('outbox', OUTBOX_BATCH_SIZE, config.mail.pollIntervalMs);
  }

  protected runBatch(): Promise<number> {
    return this.deliverBatch();
  }

  /** One transaction: lock due mails, send them, record each outcome. Answers how many were due. */
  async deliverBatch(): Promise<number> {
    return inTransaction(this.em, async (em) => {
      const mails = await this.outbox.lockDueBatch(em, OUTBOX_BATCH_SIZE);
      const outcomes = await Promise.allSettled(mails.map((mail) => this.transport.send({ to: mail.recipient, ...mail.payload })));
      for (const [index, mail] of mails.entries()) {
        const outcome = outcomes[index];
        if (outcome.status === 'fulfilled') {
          await this.outbox.markSent(em, mail.id);
          this.logger.debug(`mail ${mail.id} (${mail.template}) sent to ${mail.recipient}`);
        } else {
          await this.recordFailure(em, mail, outcome.reason);
        }
      }
      return mails.length;
    });
  }

  private async recordFailure(em: EntityManager, mail: MailOutboxEntity, reason: unknown): Promise<void> {
    const attempts = mail.attempts + 1;
    const error = describeDeliveryError(reason);
    const { maxAttempts, retryBaseMs } = this.config.mail;
    if (attempts >= maxAttempts) {
      await this.outbox.markFailed(em, mail.id, error);
      this.logger.error(`mail ${mail.id} (${mail.template}) to ${mail.recipient} failed for good after ${attempts} attempt(s): ${error}`);
      return;
    }
    const delayMs = retryDelayMs(attempts, retryBaseMs);
    await this.outbox.markRetry(em, mail.id, delayMs, error);
    this.logger.warn(`mail ${mail.id} (${mail.template}) to ${mail.recipient}: attempt ${attempts} failed, retrying in ${delayMs} ms: ${error}`);
  }
}
