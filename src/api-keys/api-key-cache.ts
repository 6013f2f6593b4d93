import { BoundedCache, LruCache } from '../common/cache/bounded-cache';

/** What a hit needs to authenticate without the database. */
export interface CachedApiKey {
  id: string;
  userId: string;
  /** Epoch milliseconds, or null for a key that never expires. */
  expiresAt: number | null;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Null: the key may do everything. */
  scopes: readonly string[] | null;
}

/** How long an unknown, revoked or expired key's hash is remembered as such. */
export const REJECTED_TTL_MS = 60_000;

/**
 * The API-key lookups of this instance, bounded: key hash -> key, and key hash -> "not an active
 * key". A rejected key never becomes valid again (revocation and expiry are final, and a new key
 * cannot share a hash), so rejections are always safe to serve. An accepted key can be revoked
 * on any instance at any moment, so accepted keys are only served while the revocation listener
 * is connected (`resume()`); while it is not, every lookup goes to the database.
 *
 * `generation` closes the race between a database read and a revocation that lands while the
 * read is in flight: a result is only stored if nothing was forgotten since the read began.
 */
export class ApiKeyCache {
  private readonly accepted: LruCache<string, CachedApiKey>;
  private readonly rejected: LruCache<string, number>;
  /**
   * The hash of each key accepted lately, by the key as presented. Hashing costs a request about
   * 6,000 instructions, 4 % of a `GET /users/me` with a key; a look-up here costs a few hundred.
   * It holds keys in clear, as the JWT strategy holds the tokens it verified; a key's hash never
   * changes, so nothing here needs invalidating: a revoked key is dropped from `accepted`.
   */
  private readonly hashes: BoundedCache<string, string>;
  private listening = false;
  private generation = 0;

  constructor(maxEntries: number) {
    this.accepted = new LruCache(maxEntries);
    this.rejected = new LruCache(maxEntries);
    this.hashes = new BoundedCache(maxEntries);
  }

  get size(): { accepted: number; rejected: number } {
    return { accepted: this.accepted.size, rejected: this.rejected.size };
  }

  /** Whether accepted keys are being served from memory (the revocation listener is connected). */
  get serving(): boolean {
    return this.listening;
  }

  /** The key, `'rejected'`, or undefined when the database must be asked. */
  lookup(keyHash: string, now: number): CachedApiKey | 'rejected' | undefined {
    if (this.listening) {
      const key = this.accepted.get(keyHash);
      if (key) {
        if (key.expiresAt === null || key.expiresAt > now) return key;
        this.accepted.delete(keyHash);
        this.rejected.set(keyHash, now + REJECTED_TTL_MS);
        return 'rejected';
      }
    }
    const until = this.rejected.get(keyHash);
    if (until === undefined) return undefined;
    if (until > now) return 'rejected';
    this.rejected.delete(keyHash);
    return undefined;
  }

  /** The hash of a key accepted lately, without hashing it again; undefined for any other. */
  knownHash(presented: string): string | undefined {
    return this.hashes.get(presented);
  }

  /** Notes the hash of a key that was just accepted, for `knownHash`. */
  rememberHash(presented: string, keyHash: string): void {
    this.hashes.set(presented, keyHash);
  }

  /** Taken before a database read; hand it back to `remember`. */
  snapshot(): number {
    return this.generation;
  }

  /** Stores what the database answered (null: no active key with this hash). */
  remember(keyHash: string, snapshot: number, key: CachedApiKey | null, now: number): void {
    if (snapshot !== this.generation) return;
    if (key === null) this.rejected.set(keyHash, now + REJECTED_TTL_MS);
    else if (this.listening) this.accepted.set(keyHash, key);
  }

  /** A key was revoked (here or on another instance). */
  forget(keyHash: string): void {
    this.generation++;
    this.accepted.delete(keyHash);
  }

  /** The listener is down: revocations could be missed, so stop serving accepted keys. */
  suspend(): void {
    this.listening = false;
    this.generation++;
    this.accepted.clear();
  }

  /** The listener is (re)connected: start from empty, since revocations may have been missed. */
  resume(): void {
    this.generation++;
    this.accepted.clear();
    this.listening = true;
  }
}
