import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { PgListener } from '../../database/pg-listener';
import { SigningKeyDecryptionError } from './signing-key.cipher';
import { isP256, jwkThumbprint, PublicJwk, toPublicJwk } from './signing-key-material';
import { SIGNING_KEYS_CHANNEL } from './signing-keys.repository';
import { KEY_RELOAD_INTERVAL_MS, SigningKeysService, StoredSigningKey } from './signing-keys.service';

/** A token with an unknown kid may trigger a reload at most this often, so garbage kids cannot hammer the database. */
export const UNKNOWN_KID_RELOAD_INTERVAL_MS = 5_000;

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

interface VerificationKey {
  publicKey: KeyObject;
  jwk: PublicJwk;
  /** Epoch milliseconds after which the key no longer verifies; Infinity while it signs. */
  retireAt: number;
}

export interface Jwks {
  keys: PublicJwk[];
}

/**
 * The keys this instance signs and verifies with, parsed once into KeyObjects (parsing per
 * request would cost more than the signature check). Keys come from SIGNING_KEY_PEM, or from the
 * database, re-read when a rotation is announced (LISTEN/NOTIFY), every minute, and when a token
 * names a kid this instance does not know yet.
 */
@Injectable()
export class SigningKeyRing implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeyRing.name);
  private signing?: SigningKey;
  private verification = new Map<string, VerificationKey>();
  private published: Jwks = { keys: [] };
  /** The published set is rebuilt once the earliest retiring key passes its time. */
  private publishedUntil = Infinity;
  private reloading?: Promise<void>;
  private queuedReload?: Promise<void>;
  private lastUnknownKidReloadAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private listener?: PgListener;
  private listenerConnectedBefore = false;

  constructor(
    private readonly keys: SigningKeysService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.tokens.signingKeyPem) {
      this.useConfiguredPem(this.config.tokens.signingKeyPem);
      return;
    }
    await this.reload();
    this.timer = setInterval(() => void this.reloadQuietly('periodic'), KEY_RELOAD_INTERVAL_MS);
    this.timer.unref();
    this.listener = new PgListener(this.config.database.url, SIGNING_KEYS_CHANNEL, {
      onNotification: () => void this.reloadQuietly('notified'),
      onConnected: () => {
        // The first connection follows the load above; later ones may have missed a rotation.
        if (this.listenerConnectedBefore) void this.reloadQuietly('reconnected');
        this.listenerConnectedBefore = true;
      },
    });
    await this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.listener?.stop();
    await this.queuedReload?.catch(() => undefined);
    await this.reloading?.catch(() => undefined);
  }

  /** The key new tokens are signed with. */
  signingKey(): SigningKey {
    if (!this.signing) throw new Error('The signing keys are not loaded yet');
    return this.signing;
  }

  /** The public key for `kid` if this instance knows it and it has not retired; no I/O. */
  verificationKey(kid: string): KeyObject | undefined {
    const entry = this.verification.get(kid);
    return entry !== undefined && entry.retireAt > Date.now() ? entry.publicKey : undefined;
  }

  /**
   * For a kid this instance does not know: re-reads the key set (a rotation may not have reached
   * it yet) unless that happened in the last few seconds, then answers the key or undefined.
   * Rejects when the database cannot be read.
   */
  async resolveUnknownKid(kid: string): Promise<KeyObject | undefined> {
    if (this.reloading) {
      await this.reloading;
    } else {
      if (Date.now() - this.lastUnknownKidReloadAt < UNKNOWN_KID_RELOAD_INTERVAL_MS) return this.verificationKey(kid);
      this.lastUnknownKidReloadAt = Date.now();
      await this.reload();
    }
    return this.verificationKey(kid);
  }

  /** The JWKS document: every key that still verifies. */
  jwks(): Jwks {
    if (Date.now() >= this.publishedUntil) this.publish();
    return this.published;
  }

  /**
   * Re-reads the key set from the database and sees every change committed before the call: a
   * read already under way may have missed it, so one more follows it, shared by all who ask meanwhile.
   */
  reload(): Promise<void> {
    if (!this.reloading) return this.startReload();
    this.queuedReload ??= this.reloading
      .catch(() => undefined)
      .then(() => {
        this.queuedReload = undefined;
        return this.startReload();
      });
    return this.queuedReload;
  }

  private startReload(): Promise<void> {
    const reloading = this.load().finally(() => {
      if (this.reloading === reloading) this.reloading = undefined;
    });
    this.reloading = reloading;
    return reloading;
  }

  private async reloadQuietly(why: string): Promise<void> {
    try {
      await this.reload();
    } catch (error) {
      const log = error instanceof SigningKeyDecryptionError ? 'error' : 'warn';
      this.logger[log](`could not reload the signing keys (${why}): ${(error as Error).message}`);
    }
  }

  private async load(): Promise<void> {
    let stored = await this.keys.findUsable();
    if (!stored.some((key) => key.retireAt === null)) {
      await this.keys.ensureCurrentKey();
      stored = await this.keys.findUsable();
    }
    const verification = new Map<string, VerificationKey>();
    for (const key of stored) {
      const known = this.verification.get(key.kid);
      const publicKey = known?.publicKey ?? createPublicKey(key.publicKeyPem);
      verification.set(key.kid, { publicKey, jwk: known?.jwk ?? toPublicJwk(publicKey, key.kid), retireAt: key.retireAt?.getTime() ?? Infinity });
    }
    const current = stored.find((key) => key.retireAt === null);
    // Swap the verification set first: if the new current key cannot be opened, tokens signed
    // elsewhere with it still verify here, and this instance keeps signing with the key it has.
    this.verification = verification;
    this.publish();
    if (current === undefined || current.kid === this.signing?.kid) return;
    try {
      this.signing = await this.openSigningKey(current);
    } catch (error) {
      // At start there is nothing to fall back on: the start stops with this message.
      if (!this.signing) throw error;
      this.logger.error(`still signing with key ${this.signing.kid}: cannot use the new key ${current.kid}: ${(error as Error).message}`);
      return;
    }
    this.logger.log(`signing access tokens with key ${current.kid}`);
  }

  private async openSigningKey(key: StoredSigningKey): Promise<SigningKey> {
    const privateKey = createPrivateKey(await this.keys.openPrivateKey(key));
    if (jwkThumbprint(createPublicKey(privateKey)) !== key.kid) throw new Error(`Signing key ${key.kid} does not match its public key`);
    return { kid: key.kid, privateKey };
  }

  /**
   * SIGNING_KEY_PEM holds one or more PEM private keys: the first signs, the others only verify
   * (keep the previous key there for one access-token lifetime after replacing it).
   */
  private useConfiguredPem(pem: string): void {
    const blocks = pem.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
    if (blocks.length === 0) throw new Error('SIGNING_KEY_PEM must hold a PEM private key (EC P-256, for ES256)');
    const verification = new Map<string, VerificationKey>();
    blocks.forEach((block, index) => {
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey(block);
      } catch (error) {
        throw new Error(`SIGNING_KEY_PEM key #${index + 1} is not a readable PEM private key: ${(error as Error).message}`, { cause: error });
      }
      if (!isP256(privateKey)) throw new Error(`SIGNING_KEY_PEM key #${index + 1} must be an EC P-256 private key (ES256)`);
      const publicKey = createPublicKey(privateKey);
      const kid = jwkThumbprint(publicKey);
      verification.set(kid, { publicKey, jwk: toPublicJwk(publicKey, kid), retireAt: Infinity });
      if (index === 0) this.signing = { kid, privateKey };
    });
    this.verification = verification;
    this.publish();
  }

  private publish(): void {
    const now = Date.now();
    const keys: PublicJwk[] = [];
    let until = Infinity;
    for (const entry of this.verification.values()) {
      if (entry.retireAt <= now) continue;
      keys.push(entry.jwk);
      until = Math.min(until, entry.retireAt);
    }
    this.published = { keys };
    this.publishedUntil = until;
  }
}
