import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { SigningKeyCipher } from './signing-key.cipher';
import { generateSigningKeyPair, SIGNING_ALGORITHM } from './signing-key-material';
import { NewSigningKey, SigningKeysRepository } from './signing-keys.repository';
import { inTransaction } from '../../database/transaction';

/**
 * How often every instance re-reads the key set even without a notification. A rotated-out key
 * keeps verifying this much longer than the token lifetime, because an instance that missed the
 * notification may sign with it until its next reload.
 */
export const KEY_RELOAD_INTERVAL_MS = 60_000;

/** A stored key as the key ring needs it: PEM text, the private part still sealed. */
export interface StoredSigningKey {
  kid: string;
  publicKeyPem: string;
  privateKeyEncrypted: string;
  /** Null for the current (signing) key. */
  retireAt: Date | null;
}

export interface RotationResult {
  kid: string;
  /** When the previous current key stops verifying; null when there was none. */
  previousRetireAt: Date | null;
}

/** Creates, rotates and reads the signing keys held in the database. */
@Injectable()
export class SigningKeysService {
  constructor(
    private readonly em: EntityManager,
    private readonly repository: SigningKeysRepository,
    private readonly cipher: SigningKeyCipher,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** The current key and those still verifying, newest first. */
  async findUsable(): Promise<StoredSigningKey[]> {
    const keys = await this.repository.findUsable();
    return keys.map((key) => ({ kid: key.kid, publicKeyPem: key.publicKey, privateKeyEncrypted: key.privateKeyEncrypted, retireAt: key.retireAt }));
  }

  /** Creates the first key unless one exists; instances starting together end up sharing one. */
  async ensureCurrentKey(): Promise<void> {
    if (await this.repository.findCurrent()) return;
    const key = await this.createKey();
    await inTransaction(this.em, (em) => this.repository.insertCurrentIfNone(em, key));
  }

  /**
   * Adds a key that signs from now on. The previous one keeps verifying the tokens it signed
   * until they have expired, then it is no longer used or published. Every instance is notified.
   */
  async rotate(): Promise<RotationResult> {
    const key = await this.createKey();
    const retireAfterSeconds = this.config.tokens.accessTtlSeconds + KEY_RELOAD_INTERVAL_MS / 1000;
    return inTransaction(this.em, async (em) => {
      await this.repository.lockForRotation(em);
      const previousRetireAt = await this.repository.retireCurrent(em, retireAfterSeconds);
      if (!(await this.repository.insertCurrentIfNone(em, key))) throw new Error('Another current signing key appeared during the rotation');
      await this.repository.notifyChanged(em);
      return { kid: key.kid, previousRetireAt };
    });
  }

  openPrivateKey(key: StoredSigningKey): Promise<string> {
    return this.cipher.open(key.privateKeyEncrypted, key.kid);
  }

  private async createKey(): Promise<NewSigningKey> {
    const pair = await generateSigningKeyPair();
    return {
      kid: pair.kid,
      algorithm: SIGNING_ALGORITHM,
      publicKey: pair.publicKeyPem,
      privateKeyEncrypted: await this.cipher.seal(pair.privateKeyPem, pair.kid),
    };
  }
}
