import { LruCache } from '../common/cache/bounded-cache';
import { BudgetedCache, CacheSlot, flatString, HEAP_NUMBER_BYTES, MAP_ENTRY_BYTES, MemoryBudget, objectBytes, stringBytes } from '../common/cache/memory.budget';
import { ProofOfHearing } from '../database/proof-of-hearing';

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

/** An accepted key as the cache holds it, found by the key as presented and by its hash. */
interface AcceptedKey extends CachedApiKey, CacheSlot {
  presented: string;
  keyHash: string;
}

/** How long an unknown, revoked or expired key's hash is remembered as such. */
export const REJECTED_TTL_MS = 60_000;

/**
 * Rejections are bounded apart from the budget, by count, at this fraction of it: they are
 * cheap to keep and cheap to learn again, and a flood of made-up keys must not evict the keys
 * in use.
 */
const REJECTED_SHARE = 1 / 64;
/** What one rejection keeps alive: Map slot, hex hash, and the clock's wrapper with its deadline. */
const REJECTED_ENTRY_BYTES = MAP_ENTRY_BYTES + stringBytes(64) + objectBytes(2) + HEAP_NUMBER_BYTES;

/**
 * The API-key lookups of this instance, in the shared memory budget: key -> accepted key (by the
 * key as presented, so a hit needs no hashing, and by its hash, for revocations), and key hash ->
 * "not an active key". A rejection is safe to serve until the key's row changes: revocation is
 * final and a new key cannot share a hash, but an expiry moved later in SQL is announced as a
 * revocation is (decision 018), and `forget` then drops the rejection with the rest. An accepted
 * key can be revoked on any instance at any moment, so accepted keys are only served while the
 * revocation listener can prove it hears every revocation (`resume()`, then `heard()` with each
 * heartbeat answered, decision 011); otherwise every lookup goes to the database.
 *
 * The presented key is held in clear, as the JWT strategy holds the tokens it verified: hashing
 * costs far more than a look-up here.
 *
 * `generation` closes the race between a database read and a revocation that lands while the
 * read is in flight: a result is only stored if nothing was forgotten since the read began.
 */
export class ApiKeyCache {
  private readonly byHash: BudgetedCache<string, AcceptedKey>;
  private readonly byPresented = new Map<string, AcceptedKey>();
  private readonly rejected: LruCache<string, number>;
  /** Whether accepted keys may be served: the revocation listener's proof of hearing. */
  private readonly hearing = new ProofOfHearing();
  private generation = 0;

  constructor(budget: MemoryBudget) {
    this.byHash = new BudgetedCache(budget, (_hash, key) => weighAcceptedKey(key), (_hash, key) => this.byPresented.delete(key.presented));
    this.rejected = new LruCache(Math.floor((budget.maxBytes * REJECTED_SHARE) / REJECTED_ENTRY_BYTES));
  }

  get size(): { accepted: number; rejected: number } {
    return { accepted: this.byHash.size, rejected: this.rejected.size };
  }

  /** Whether accepted keys are being served from memory (the revocation listener proves it hears). */
  get serving(): boolean {
    return this.hearing.serving;
  }

  /**
   * The hot path: the key as presented, accepted before and unexpired; undefined for any other
   * (then `lookup` by its hash). No parsing and no hashing: only a key that passed every check
   * (shape, checksum, the database) is stored, so finding one is proof enough of its form.
   */
  known(presented: string, now: number): CachedApiKey | undefined {
    if (!this.hearing.servingAt(now)) return undefined;
    const key = this.byPresented.get(presented);
    if (key === undefined) return undefined;
    if (key.expiresAt !== null && key.expiresAt <= now) {
      this.expire(key, now);
      return undefined;
    }
    key.cacheUsed = true;
    return key;
  }

  /** The key, `'rejected'`, or undefined when the database must be asked. */
  lookup(keyHash: string, now: number): CachedApiKey | 'rejected' | undefined {
    if (this.hearing.servingAt(now)) {
      const key = this.byHash.get(keyHash);
      if (key) {
        if (key.expiresAt === null || key.expiresAt > now) return key;
        this.expire(key, now);
        return 'rejected';
      }
    }
    const until = this.rejected.get(keyHash);
    if (until === undefined) return undefined;
    if (until > now) return 'rejected';
    this.rejected.delete(keyHash);
    return undefined;
  }

  /** Taken before a database read; hand it back to `remember`. */
  snapshot(): number {
    return this.generation;
  }

  /** Whether nothing was forgotten since `snapshot` was taken: a read begun then is still good to share. */
  current(snapshot: number): boolean {
    return snapshot === this.generation;
  }

  /** Stores what the database answered for the key `presented` (null: no active key with this hash). */
  remember(presented: string, keyHash: string, snapshot: number, key: CachedApiKey | null, now: number): void {
    if (snapshot !== this.generation) return;
    if (key === null) {
      this.rejected.set(keyHash, now + REJECTED_TTL_MS);
      return;
    }
    if (!this.hearing.listening) return;
    this.byPresented.delete(this.byHash.peek(keyHash)?.presented ?? presented);
    // A copy: the key may be a slice of the Authorization header, which it would keep alive.
    const entry: AcceptedKey = {
      presented: flatString(presented),
      keyHash,
      id: key.id,
      userId: key.userId,
      expiresAt: key.expiresAt,
      createdAt: key.createdAt,
      scopes: key.scopes,
      cacheUsed: false,
      cacheSeq: 0,
    };
    this.byHash.set(keyHash, entry);
    // A budget of 0 stores nothing; the second index follows the first.
    if (this.byHash.peek(keyHash) === entry) this.byPresented.set(entry.presented, entry);
  }

  /** A key's row changed (here or on another instance): revoked, or its expiry or scopes changed. */
  forget(keyHash: string): void {
    this.generation++;
    const key = this.byHash.delete(keyHash);
    if (key !== undefined) this.byPresented.delete(key.presented);
    this.rejected.delete(keyHash);
  }

  /** The listener is down: revocations could be missed, so stop serving accepted keys. */
  suspend(): void {
    this.hearing.suspend();
    this.generation++;
    this.clearAccepted();
  }

  /**
   * The listener is (re)connected: start from empty, since revocations may have been missed, and
   * serve accepted keys until `servingUntil` (epoch ms).
   */
  resume(servingUntil: number): void {
    this.generation++;
    this.clearAccepted();
    this.hearing.resume(servingUntil);
  }

  /**
   * The listener proved again that it has heard every revocation sent before a heartbeat: serve
   * until `servingUntil`, the keys held included, since nothing was missed on the same connection.
   */
  heard(servingUntil: number): void {
    this.hearing.heard(servingUntil);
  }

  private expire(key: AcceptedKey, now: number): void {
    this.byHash.delete(key.keyHash);
    this.byPresented.delete(key.presented);
    this.rejected.set(key.keyHash, now + REJECTED_TTL_MS);
  }

  private clearAccepted(): void {
    this.byHash.clear();
    this.byPresented.clear();
  }
}

/** Both Map slots, the entry and its strings; the user id is counted though it may be shared with the users cache. */
function weighAcceptedKey(key: AcceptedKey): number {
  return (
    2 * MAP_ENTRY_BYTES +
    objectBytes(9) +
    HEAP_NUMBER_BYTES +
    (key.scopes === null ? 0 : objectBytes(key.scopes.length) + key.scopes.reduce((bytes, scope) => bytes + stringBytes(scope.length), 0)) +
    stringBytes(key.presented.length) +
    stringBytes(key.keyHash.length) +
    stringBytes(key.id.length) +
    stringBytes(key.userId.length) +
    (key.expiresAt === null ? 0 : HEAP_NUMBER_BYTES)
  );
}
