import { ArrayType, Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** An API key as stored: its hash and its public prefix, never the key itself. */
@Entity({ tableName: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  userId: string;

  @Property({ type: 'string', length: 100, nullable: true })
  name: string | null;

  /** The first 10 characters of the key (`atiru_` + 4): what lists and logs show. */
  @Property({ type: 'string', length: 10 })
  keyPrefix: string;

  /** SHA-256 of the whole key. */
  @Property({ type: 'blob' })
  keyHash: Buffer;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: (Date & Opt) | null = null;

  /** Where the last use came from; written with `lastUsedAt` by the usage recorder. */
  @Property({ type: 'string', length: 64, nullable: true })
  lastUsedIp: (string & Opt) | null = null;

  @Property({ type: 'string', length: 512, nullable: true })
  lastUsedUserAgent: (string & Opt) | null = null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: (Date & Opt) | null = null;

  /** Null: the key may do everything. */
  @Property({ type: ArrayType, columnType: 'text[]', nullable: true })
  scopes: (string[] & Opt) | null = null;

  /** The key this one was rolled to; it stops at its `expiresAt`. */
  @Property({ type: 'uuid', nullable: true })
  replacedBy: (string & Opt) | null = null;
}
