import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import type { MailFailure } from './mail-backoff';
import type { MailTemplateName, RenderedMail } from './mail-message';

export type MailOutboxStatus = 'pending' | 'sent' | 'failed';

/** One mail waiting for, or done with, delivery. Written in the transaction that causes the mail. */
@Entity({ tableName: 'mail_outbox' })
export class MailOutboxEntity {
  /** bigint identity; MikroORM hands bigints over as strings. */
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id: string & Opt;

  @Property({ type: 'string', length: 320 })
  recipient: string;

  /**
   * The inbox the recipient's address delivers to (`inboxOf`), which the cap on one inbox's mails
   * counts; null on mails queued by a release before it was kept.
   */
  @Property({ type: 'string', length: 320, nullable: true })
  inbox: (string & Opt) | null = null;

  @Property({ type: 'string', length: 64 })
  template: MailTemplateName;

  @Property({ type: 'json' })
  payload: RenderedMail;

  @Property({ type: 'string', length: 16 })
  status: MailOutboxStatus & Opt = 'pending';

  /** Delivery attempts made, the successful one included. */
  @Property({ type: 'integer' })
  attempts: number & Opt = 0;

  /** When the mail may be tried next; while an instance is sending it, the end of that instance's claim. */
  @Property({ type: 'datetime' })
  nextAttemptAt: Date & Opt = new Date();

  /** Set when `status` is `failed`: refused for good, or every attempt failed. */
  @Property({ type: 'string', length: 32, nullable: true })
  failure: (MailFailure & Opt) | null = null;

  @Property({ type: 'datetime', nullable: true })
  failedAt: (Date & Opt) | null = null;

  /** The last delivery error, shortened and without credentials. */
  @Property({ type: 'text', nullable: true })
  lastError: (string & Opt) | null = null;

  /**
   * Whether someone waits for the mail as it is sent (`MAIL_AWAITED`), set at enqueue: awaited mail
   * and notices are claimed in lanes of their own (`MailOutboxRepository.claimDueBatch`).
   */
  @Property({ type: 'boolean' })
  awaited: boolean;

  /**
   * Where the mail stands in its lane, which is claimed in this order (then by id): when it was
   * queued, or later for a template placed behind others (`MAIL_PLACED_BEHIND_SECONDS`). Kept
   * through retries and resends.
   */
  @Property({ type: 'datetime' })
  queuePosition: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  sentAt: (Date & Opt) | null = null;
}
