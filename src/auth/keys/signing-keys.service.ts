import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AppConfig, isPlaceholderSecret } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { SigningKeyCipher } from './signing-key.cipher';
import { generateSigningKeyPair, SIGNING_ALGORITHM } from './signing-key-material';
import { NewSigningKey, SigningKeysRepository } from './signing-keys.repository';
import { inTransaction } from '../../database/transaction';

/** How often every instance re-reads the key set even without a notification. */
export const KEY_RELOAD_INTERVAL_MS = 60_000;

/** What a rotation refused for its secret adds: how to change the secret on purpose. */
const NEW_SECRET_HINT = ' (to change it, or after losing it, add --new-secret: docs/operations.md)';

/** How long other services may keep a copy of the JWKS (its `Cache-Control: max-age`). */
export const JWKS_MAX_AGE_SECONDS = 60;

/**
 * How long a rotated-in key is published before it signs. Every instance publishes it within one
 * reload interval (sooner when the notification arrives), and a copy of the JWKS fetched before
 * that is kept for at most its max-age: after both, a verifier that caches the JWKS knows the key
 * before it sees a token signed with it. Until then the previous key keeps signing. Each instance
 * counts from the key's creation time in the database, so they all switch together.
 */
export const NEW_KEY_SIGNS_AFTER_MS = KEY_RELOAD_INTERVAL_MS + JWKS_MAX_AGE_SECONDS * 1000;

/** A stored key as the key ring needs it: PEM text, the private part still sealed. */
export interface StoredSigningKey {
  kid: string;
  publicKeyPem: string;
  privateKeyEncrypted: string;
  createdAt: Date;
  /** Null for the newest key. */
  retireAt: Date | null;
}

export interface RotationResult {
  kid: string;
  /** When the new key starts signing; it is published at once. */
  signsFrom: Date;
  /** When the previous newest key stops verifying; null when there was none. */
  previousRetireAt: Date | null;
}

export interface RetirementResult {
  /** The new key, which signs from its creation, at once. */
  kid: string;
  signsFrom: Date;
  /** The keys retired, the one that signed until now among them; they no longer verify. */
  retired: string[];
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

  /** The newest key and those still verifying, newest first. */
  async findUsable(): Promise<StoredSigningKey[]> {
    const keys = await this.repository.findUsable();
    return keys.map((key) => ({
      kid: key.kid,
      publicKeyPem: key.publicKey,
      privateKeyEncrypted: key.privateKeyEncrypted,
      createdAt: key.createdAt,
      retireAt: key.retireAt,
    }));
  }

  /** Creates the first key unless one exists; instances starting together end up sharing one. It signs at once. */
  async ensureCurrentKey(): Promise<void> {
    if (await this.repository.findCurrent()) return;
    const key = await this.createKey();
    await inTransaction(this.em, (em) => this.repository.insertCurrentIfNone(em, key));
  }

  /**
   * Adds a key, published at once, that signs once NEW_KEY_SIGNS_AFTER_MS have passed. The
   * previous one signs until then and keeps verifying the tokens it signed until they have expired;
   * then it is no longer used or published. Every instance is notified.
   */
  async rotate(options: { newSecret?: boolean } = {}): Promise<RotationResult> {
    const key = await this.createKey();
    // The previous key signs until the new one is due, and its last tokens live one token lifetime
    // more. A reload interval beyond that leaves room for an instance whose clock runs behind the
    // database's, or whose reloads fail for a while, to sign with it a little longer.
    const retireAfterSeconds = (NEW_KEY_SIGNS_AFTER_MS + KEY_RELOAD_INTERVAL_MS) / 1000 + this.config.tokens.accessTtlSeconds;
    return inTransaction(this.em, async (em) => {
      await this.repository.lockForRotation(em);
      if (options.newSecret || !(await this.assertSameSecret(em, NEW_SECRET_HINT))) this.assertNoPlaceholder();
      const previousRetireAt = await this.repository.retireCurrent(em, retireAfterSeconds);
      const createdAt = await this.repository.insertCurrentIfNone(em, key);
      if (!createdAt) throw new Error('Another current signing key appeared during the rotation');
      await this.repository.notifyChanged(em);
      // With no previous key, the new one is the only key there is, and signs at once.
      const signsFrom = previousRetireAt === null ? createdAt : new Date(createdAt.getTime() + NEW_KEY_SIGNS_AFTER_MS);
      return { kid: key.kid, signsFrom, previousRetireAt };
    });
  }

  /**
   * For a key that may be compromised: retires every key that still verifies, now, and adds one
   * that signs at once (the only key left signs at once, as on a new installation). Every instance
   * is notified: each reloads its keys and ends every session lease, so every access token it
   * remembers is checked again, and a token's check asks the database whether its key has retired.
   * An instance that does not hear it has stopped answering tokens from memory within
   * PROOF_VALID_MS of its last proof of hearing, which came before the commit (decision 011): from
   * ACK_TIMEOUT_MS after the commit, no instance accepts a token the retired keys signed.
   */
  async retireNow(): Promise<RetirementResult> {
    const key = await this.createKey();
    return inTransaction(this.em, async (em) => {
      await this.repository.lockForRotation(em);
      if (!(await this.assertSameSecret(em))) this.assertNoPlaceholder();
      const retired = await this.repository.retireAllNow(em);
      const createdAt = await this.repository.insertCurrentIfNone(em, key);
      if (!createdAt) throw new Error('Another current signing key appeared during the retirement');
      await this.repository.notifyRetiredAtOnce(em);
      return { kid: key.kid, signsFrom: createdAt, retired };
    });
  }

  /**
   * Refuses a key sealed with another secret than the current key's, which is the running
   * instances' (they opened it): they could not open the new key. Once it is due they could not
   * start, and once the current key retired they could not sign; a retirement at once would have
   * them sign with a retired key at once. A rotation may change the secret when asked to
   * (`newSecret`), as the runbook's change of secret does. Answers whether there was a current key
   * to hold the secret against.
   */
  private async assertSameSecret(em: EntityManager, hint = ''): Promise<boolean> {
    const current = await this.repository.findCurrent(em);
    if (current === null) return false;
    try {
      await this.cipher.open(current.privateKeyEncrypted, current.kid);
    } catch {
      throw new Error(
        `SIGNING_KEY_ENCRYPTION_SECRET cannot open the current signing key ${current.kid}: it is not the secret the running instances use, ` +
          `and they could not open a key sealed with it. Run the command with their secret${hint}.`,
      );
    }
    return true;
  }

  /** With nothing to hold the secret against (a new secret, or no key yet), it must at least be no placeholder. */
  private assertNoPlaceholder(): void {
    if (isPlaceholderSecret(this.config.tokens.signingKeyEncryptionSecret)) {
      throw new Error('SIGNING_KEY_ENCRYPTION_SECRET is missing or a placeholder: set the random secret of at least 32 characters the instances use');
    }
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
