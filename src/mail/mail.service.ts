import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { afterTransaction } from '../database/transaction';
import { MAIL_AWAITED, MailMessage, MailTemplateName } from './mail-message';
import { MailOutboxRepository } from './mail-outbox.repository';
import { renderMail } from './mail-templates';
import { OutboxWorker } from './outbox.worker';

/**
 * How far behind its own time a notice takes its place in the outbox queue. Mail someone waits for
 * that is queued up to this long after a notice is sent before it, so a backlog of notices does not
 * hold up confirmation and reset links. A notice is overtaken only by mail queued within this time
 * after it: it goes before anything queued later, but waits for all of that mail to be sent, so a
 * flood of sign-ups in those minutes delays it by as long as the flood takes to send (decision 031).
 */
export const NOTICE_QUEUE_DELAY_MS = 10 * 60_000;

@Injectable()
export class MailService {
  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly worker: OutboxWorker,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Renders the mail and stores it in the outbox through the caller's `em`, the one
   * `inTransaction(...)` handed it, so the mail exists if and only if that transaction commits.
   * The commit wakes this instance's outbox worker, so the mail leaves at once rather than at the
   * next poll; any instance's worker may deliver it. A notice queues behind mail someone waits for
   * (`NOTICE_QUEUE_DELAY_MS`).
   */
  async enqueue(em: EntityManager, message: MailMessage): Promise<void> {
    afterTransaction(em, { committed: () => this.worker.wake() });
    const behindMs = MAIL_AWAITED[message.template] ? 0 : NOTICE_QUEUE_DELAY_MS;
    await this.outbox.insert(em, message.to, message.template, renderMail(message, this.config.tokens), behindMs);
  }

  /** Mails of `templates` queued for `to` in the last `windowSeconds`, those of the caller's transaction included. */
  countQueuedTo(em: EntityManager, to: string, templates: readonly MailTemplateName[], windowSeconds: number): Promise<number> {
    return this.outbox.countQueuedTo(em, to, templates, windowSeconds);
  }
}
