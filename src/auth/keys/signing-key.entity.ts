import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/** A key pair that signs access tokens. Only the public part is stored in the clear. */
@Entity({ tableName: 'signing_keys' })
export class SigningKeyEntity {
  /** The RFC 7638 thumbprint of the public key, sent as the `kid` header of every token it signs. */
  @PrimaryKey({ type: 'string', length: 64 })
  kid: string;

  @Property({ type: 'string', length: 16 })
  algorithm: string;

  /** SPKI PEM. */
  @Property({ type: 'text' })
  publicKey: string;

  /** PKCS#8 PEM sealed by `SigningKeyCipher`. */
  @Property({ type: 'text' })
  privateKeyEncrypted: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  /**
   * Null for the current key, the newest, which signs once it has been published for
   * NEW_KEY_SIGNS_AFTER_MS (at once when it is the only key). Set by the rotation that replaces
   * it: the key signs until the new one is due, then only verifies, and after this instant not even that.
   */
  @Property({ type: 'datetime', nullable: true })
  retireAt: (Date & Opt) | null = null;
}
