import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/**
 * One link of a session's refresh chain. Only the SHA-256 of the token is stored. When a token
 * is rotated, its successor is kept sealed under a key derived from the token itself, so that
 * only a holder of the old token can read the successor back during the grace interval.
 */
@Entity({ tableName: 'refresh_tokens' })
export class RefreshTokenEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'string', length: 64 })
  tokenHash: string;

  @Property({ type: 'uuid' })
  sessionId: string;

  @Property({ type: 'uuid', nullable: true })
  parentId: string | null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  expiresAt: Date;

  @Property({ type: 'datetime', nullable: true })
  retiredAt: (Date & Opt) | null = null;

  @Property({ type: 'uuid', nullable: true })
  replacedById: (string & Opt) | null = null;

  @Property({ type: 'blob', nullable: true, lazy: false })
  successorSealed: (Buffer & Opt) | null = null;

  /**
   * When a replay handed this token to a second presenter, who then holds it beside the one its
   * rotation answered. Its own retirement then allows no replay (docs/decisions/024).
   */
  @Property({ type: 'datetime', nullable: true })
  sharedAt: (Date & Opt) | null = null;
}
