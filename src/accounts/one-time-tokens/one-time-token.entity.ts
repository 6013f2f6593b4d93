import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

export type OneTimeTokenPurpose = 'confirm_email' | 'reset_password';

/** A token sent by mail (confirmation, password reset). Only its SHA-256 is stored. */
@Entity({ tableName: 'one_time_tokens' })
export class OneTimeTokenEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'string', length: 64 })
  tokenHash: string;

  @Property({ type: 'string', length: 32 })
  purpose: OneTimeTokenPurpose;

  /** The user the token acts for; null while it confirms a pending registration. */
  @Property({ type: 'uuid', nullable: true })
  userId: string | null;

  /** The pending registration a confirmation token would turn into the user. */
  @Property({ type: 'uuid', nullable: true })
  registrationId: (string & Opt) | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  expiresAt: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: (Date & Opt) | null = null;

  /** Where the link lands; null means the dashboard. */
  @Property({ type: 'string', length: 2048, nullable: true })
  redirectTo: string | null;
}
