import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { afterTransaction } from '../database/transaction';
import { MAIL_AWAITED, MAIL_PLACED_BEHIND_SECONDS, MailMessage, MailTemplateName } from './mail-message';
import { MailOutboxRepository } from './mail-outbox.repository';
import { renderMail } from './mail-templates';
import { OutboxWorker } from './outbox.worker';

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
   * next poll; any instance's worker may deliver it. Mail someone waits for and notices are claimed
   * in lanes of their own (`MAIL_AWAITED`), so neither kind's backlog holds up the other, and within
   * its lane a mail may be placed behind others queued after it (`MAIL_PLACED_BEHIND_SECONDS`).
   */
  async enqueue(em: EntityManager, message: MailMessage): Promise<void> {
    afterTransaction(em, { committed: () => this.worker.wake() });
    const { template } = message;
    await this.outbox.insert(em, message.to, template, renderMail(message, this.config.tokens), { awaited: MAIL_AWAITED[template], behindSeconds: MAIL_PLACED_BEHIND_SECONDS[template] });
  }

  /** Mails of `templates` queued for `to` in the last `windowSeconds`, those of the caller's transaction included. */
  countQueuedTo(em: EntityManager, to: string, templates: readonly MailTemplateName[], windowSeconds: number): Promise<number> {
    return this.outbox.countQueuedTo(em, to, templates, windowSeconds);
  }
}
