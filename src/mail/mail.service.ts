import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { MailMessage } from './mail-message';

/** Placeholder until MailModule lands: the agreed signature, delivering nothing. */
@Injectable()
export class MailService {
  async enqueue(_em: EntityManager, _message: MailMessage): Promise<void> {}
}
