import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

export type SessionRevokedReason = 'logout' | 'refresh_token_reuse' | 'password_reset' | 'password_change';

/**
 * One login: lives as long as its refresh chain keeps it alive, at most `sessionMaxLifetimeSeconds`
 * after the login, or until it is revoked.
 */
@Entity({ tableName: 'sessions' })
export class SessionEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  userId: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  refreshedAt: (Date & Opt) | null = null;

  /**
   * Slides forward on every refresh: a session dies after `refreshTtlSeconds` without use. Never
   * past `createdAt` + `sessionMaxLifetimeSeconds`.
   */
  @Property({ type: 'datetime' })
  expiresAt: Date;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: (Date & Opt) | null = null;

  @Property({ type: 'string', length: 32, nullable: true })
  revokedReason: (SessionRevokedReason & Opt) | null = null;

  @Property({ type: 'string', length: 512, nullable: true })
  userAgent: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  ip: string | null;
}
