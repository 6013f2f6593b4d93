import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { Clock } from '../../common/time/clock';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { PgListener } from '../../database/pg-listener';
import { SigningKeyDecryptionError } from './signing-key.cipher';
import { isP256, jwkThumbprint, PublicJwk, toPublicJwk } from './signing-key-material';
import { SIGNING_KEYS_CHANNEL } from './signing-keys.repository';
import { KEY_RELOAD_INTERVAL_MS, NEW_KEY_SIGNS_AFTER_MS, SigningKeysService, StoredSigningKey } from './signing-keys.service';
import { AppError } from '../../common/errors/app-error';

/** A token with an unknown kid may trigger a reload at most this often, so garbage kids cannot hammer the database. */
export const UNKNOWN_KID_RELOAD_INTERVAL_MS = 5_000;

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

interface ScheduledKey extends SigningKey {
  /** Epoch milliseconds from which the key signs, unless a newer key is due too. */
  signsFrom: number;
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
 * names a kid this instance does not know yet. A rotated-in key is published and verifies at once,
 * and signs from its creation time plus NEW_KEY_SIGNS_AFTER_MS: the ring holds it opened ahead, so
 * every instance switches at that instant without a reload. Keys retired at once (decision 028)
 * leave the ring at the reload their notification causes; a ring that missed it is not what stops
 * their tokens (a token's first check asks the database), and catches up when one comes.
 */
@Injectable()
export class SigningKeyRing implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeyRing.name);
  /** Newest first; the last one signs until a newer one is due. */
  private schedule: ScheduledKey[] = [];
  /** The kid tokens were last signed with, so a switch is logged once. */
  private signingKid?: string;
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
    private readonly clock: Clock,
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

  /**
   * Whether rotations are heard as they happen, on a LISTEN connection that looks open (the
   * periodic reload catches up with any missed); undefined with SIGNING_KEY_PEM, which has none.
   */
  get hearingRotations(): boolean | undefined {
    if (this.config.tokens.signingKeyPem) return undefined;
    return this.listener?.connected ?? false;
  }

  /** The key new tokens are signed with. */
  signingKey(): SigningKey {
    const key = this.signingAt(this.clock.nowMs());
    if (!key) throw new Error('The signing keys are not loaded yet');
    if (this.verificationKey(key.kid) === undefined) {
      // Kept because its successor cannot be opened here (another secret), yet retired: a token it
      // signed would be refused everywhere, and its client would count failures retrying with it.
      // A 503 is retried, and counts nothing.
      this.logger.error(`the signing key ${key.kid} has retired and no key that verifies can be opened here: answering 503 until one can`);
      throw AppError.serverBusy();
    }
    this.noteSigning(key);
    return key;
  }

  /** The public key for `kid` if this instance knows it and it has not retired; no I/O. */
  verificationKey(kid: string): KeyObject | undefined {
    const entry = this.verification.get(kid);
    return entry !== undefined && entry.retireAt > this.clock.nowMs() ? entry.publicKey : undefined;
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
      const now = this.clock.nowMs();
      if (now - this.lastUnknownKidReloadAt < UNKNOWN_KID_RELOAD_INTERVAL_MS) return this.verificationKey(kid);
      this.lastUnknownKidReloadAt = now;
      await this.reload();
    }
    return this.verificationKey(kid);
  }

  /**
   * The database says `kid` has retired (a token's first check asked), while this ring still
   * verifies with it: its listener missed a retirement at once (decision 028). Re-reads the keys,
   * one read at a time however many tokens say so, so that its JWKS and its signing catch up.
   */
  retiredElsewhere(kid: string): void {
    if (this.verification.has(kid)) void this.reloadQuietly(`key ${kid} retired`);
  }

  /** Keys were retired at once, as heard on the sessions channel (decision 028): re-reads the keys. */
  keysRetiredAtOnce(): void {
    if (!this.config.tokens.signingKeyPem) void this.reloadQuietly('keys retired at once');
  }

  /** The JWKS document: every key that still verifies. */
  jwks(): Jwks {
    if (this.clock.nowMs() >= this.publishedUntil) this.publish();
    return this.published;
  }

  /**
   * Re-reads the key set from the database and sees every change committed before the call: a
   * read already under way may have missed it, so one more follows it, shared by all who ask meanwhile.
   */
  reload(): Promise<void> {
    // SIGNING_KEY_PEM is the whole key set: a reload (asked for by a token's unknown kid, which
    // anyone can send) must not read, or create, database keys beside it.
    if (this.config.tokens.signingKeyPem) return Promise.resolve();
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
    const now = this.clock.nowMs();
    for (const [kid, known] of this.verification) {
      // Gone well before its time (more than a clock's skew from the database's): retired at once.
      if (!verification.has(kid) && known.retireAt - now > KEY_RELOAD_INTERVAL_MS) {
        this.logger.warn(`signing key ${kid} was retired at once: tokens it signed are refused from now on`);
      }
    }
    // Swap the verification set first: if a new key cannot be opened, tokens signed elsewhere
    // with it still verify here, and this instance keeps signing with the key it has.
    this.verification = verification;
    this.publish();
    const previous = this.schedule;
    this.schedule = await this.scheduleSigning(stored);
    const scheduledAt = this.clock.nowMs();
    for (const key of this.schedule) {
      if (key.signsFrom > scheduledAt && !previous.some((known) => known.kid === key.kid)) {
        this.logger.log(`published key ${key.kid}, which signs access tokens from ${new Date(key.signsFrom).toISOString()}`);
      }
    }
    this.noteSigning(this.signingAt(scheduledAt)!);
  }

  /**
   * The keys that sign now or later, newest first, from `stored` (newest first). A key signs from
   * its creation plus NEW_KEY_SIGNS_AFTER_MS; the newest key that old (or, when none is, the
   * oldest: a fresh installation's only key) signs now, and older keys sign no more.
   */
  private async scheduleSigning(stored: StoredSigningKey[]): Promise<ScheduledKey[]> {
    const now = this.clock.nowMs();
    const dueAt = (key: StoredSigningKey) => key.createdAt.getTime() + NEW_KEY_SIGNS_AFTER_MS;
    const dueIndex = stored.findIndex((key) => dueAt(key) <= now);
    const signingIndex = dueIndex === -1 ? stored.length - 1 : dueIndex;
    const schedule: ScheduledKey[] = [];
    const failures: Array<{ kid: string; error: Error }> = [];
    for (const [index, key] of stored.slice(0, signingIndex + 1).entries()) {
      try {
        const opened = this.schedule.find((known) => known.kid === key.kid) ?? (await this.openSigningKey(key));
        schedule.push({ kid: opened.kid, privateKey: opened.privateKey, signsFrom: index === signingIndex ? -Infinity : dueAt(key) });
      } catch (error) {
        failures.push({ kid: key.kid, error: error as Error });
      }
    }
    if (schedule.at(-1)?.signsFrom !== -Infinity) {
      // The key that should sign now cannot be opened. A running instance keeps the key it signs
      // with. At start, a newer key signs before its time rather than none (a lost secret rotated
      // away, as SigningKeyDecryptionError advises); with no key at all, the start stops.
      const fallback = this.signingAt(now) ?? schedule.pop();
      if (!fallback) throw failures.at(-1)?.error ?? new Error('There is no signing key to sign with');
      schedule.push({ ...fallback, signsFrom: -Infinity });
    }
    const signing = schedule.find((key) => key.signsFrom <= now)!;
    for (const { kid, error } of failures) this.logger.error(`signing with key ${signing.kid}: cannot use key ${kid}: ${error.message}`);
    return schedule;
  }

  private signingAt(now: number): ScheduledKey | undefined {
    return this.schedule.find((key) => key.signsFrom <= now);
  }

  /** Logs the key tokens are signed with when it changes, at a load or at a new key's time. */
  private noteSigning(key: SigningKey): void {
    if (key.kid === this.signingKid) return;
    this.signingKid = key.kid;
    this.logger.log(`signing access tokens with key ${key.kid}`);
  }

  private async openSigningKey(key: StoredSigningKey): Promise<SigningKey> {
    const privateKey = createPrivateKey(await this.keys.openPrivateKey(key));
    if (jwkThumbprint(createPublicKey(privateKey)) !== key.kid) throw new Error(`Signing key ${key.kid} does not match its public key`);
    return { kid: key.kid, privateKey };
  }

  /**
   * SIGNING_KEY_PEM holds one or more PEM private keys: the first signs, at once, the others only
   * verify (add a new key after the first and move it first only once it has been published for
   * NEW_KEY_SIGNS_AFTER_MS; keep the previous key there for one access-token lifetime after that).
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
      if (index === 0) this.schedule = [{ kid, privateKey, signsFrom: -Infinity }];
    });
    this.verification = verification;
    this.publish();
    this.noteSigning(this.schedule[0]);
  }

  private publish(): void {
    const now = this.clock.nowMs();
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
