import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { MailMessage } from './mail-message';
import { MailOutboxRepository } from './mail-outbox.repository';
import { renderMail } from './mail-templates';

@Injectable()
export class MailService {
  constructor(
    private readonly outbox: MailOutboxRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Renders the mail and stores it in the outbox through the caller's `em`, so inside
   * `inTransaction(...)` the mail exists if and only if that transaction commits.
   * The outbox worker delivers it afterwards, on this instance or another.
   */
  async enqueue(em: EntityManager, message: MailMessage): Promise<void> {
    await this.outbox.insert(em, message.to, message.template, renderMail(message, this.config.tokens));
  }
}
