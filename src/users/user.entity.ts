import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

@Entity({ tableName: 'users' })
export class UserEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  /** Trimmed and lower-cased; unique case-insensitively. */
  @Property({ type: 'string', length: 320 })
  email: string;

  @Property({ type: 'text', lazy: false })
  passwordHash: string;

  @Property({ type: 'datetime', nullable: true })
  emailConfirmedAt: (Date & Opt) | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
