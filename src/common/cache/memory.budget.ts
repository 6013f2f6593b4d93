/**
 * The bookkeeping an entry of a budgeted cache carries on itself, rather than in a wrapper object
 * around it (a wrapper per entry would cost more than the fields). Owned by the cache: code that
 * reads an entry leaves these alone.
 */
export interface CacheSlot {
  /** Hit since it came in, or since the clock last passed it (CLOCK's reference bit). */
  cacheUsed: boolean;
  /** When it came in, or was last given a second chance, on the budget's clock. */
  cacheSeq: number;
}

/** What the budget needs of each cache that draws on it. */
interface BudgetedCacheLike {
  /** The `cacheSeq` of the entry that came in longest ago, or undefined when empty. */
  oldestSeq(): number | undefined;
  /** Evicts the entry that came in longest ago, or gives it a second chance (to the back, unmarked). */
  sweepOldest(): void;
}

/**
 * One bound in bytes for every credential cache of an instance (AUTH_CACHE_MAX_MB), rather than
 * a bound per cache: how much goes to API keys, access tokens and users follows the traffic. When
 * the total is over the bound, the entry that came in longest ago in any cache is weighed, CLOCK
 * fashion: evicted unless hit since it came in, in which case it moves to the back unmarked. So
 * the caches together approximate one least-recently-used cache, at one look-up per hit.
 *
 * Bytes are the caches' estimates of what each entry keeps alive on the heap (`weigh`), checked
 * against the heap after a full collection by `bench/cache-memory.ts`.
 */
export class MemoryBudget {
  private readonly caches: BudgetedCacheLike[] = [];
  private usedBytes = 0;
  private clock = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.usedBytes;
  }

  /** Whether anything can be stored at all (a bound of 0 switches the caches off). */
  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  register(cache: BudgetedCacheLike): void {
    this.caches.push(cache);
  }

  tick(): number {
    return this.clock++;
  }

  /** Counts `bytes` in, then sweeps until the caches fit again. */
  charge(bytes: number): void {
    this.usedBytes += bytes;
    while (this.usedBytes > this.maxBytes && this.sweepOnce()) {
      // sweepOnce evicts or moves one entry.
    }
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
  }

  /** Sweeps the oldest entry of all the caches; false when they are all empty. */
  private sweepOnce(): boolean {
    let oldest: BudgetedCacheLike | undefined;
    let oldestSeq = Infinity;
    for (const cache of this.caches) {
      const seq = cache.oldestSeq();
      if (seq !== undefined && seq < oldestSeq) {
        oldest = cache;
        oldestSeq = seq;
      }
    }
    oldest?.sweepOldest();
    return oldest !== undefined;
  }
}

/**
 * A Map whose entries are weighed against a shared `MemoryBudget`. A hit is one look-up and one
 * write (the reference bit); entries leave in insertion order unless hit (see MemoryBudget).
 * `onEvict` lets a cache that indexes an entry twice drop the other index too.
 */
export class BudgetedCache<K, V extends CacheSlot> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly budget: MemoryBudget,
    /** Bytes the entry keeps alive, key and Map slot included; must not change while it is stored. */
    private readonly weigh: (key: K, value: V) => number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    budget.register(this);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.cacheUsed = true;
    return entry;
  }

  /** Without marking the entry as used. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.budget.enabled) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.budget.release(this.weigh(key, previous));
    }
    value.cacheUsed = false;
    value.cacheSeq = this.budget.tick();
    this.entries.set(key, value);
    this.budget.charge(this.weigh(key, value));
  }

  delete(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.budget.release(this.weigh(key, entry));
    return entry;
  }

  clear(): void {
    for (const [key, value] of this.entries) this.budget.release(this.weigh(key, value));
    this.entries.clear();
  }

  oldestSeq(): number | undefined {
    for (const entry of this.entries.values()) return entry.cacheSeq;
    return undefined;
  }

  sweepOldest(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (entry.cacheUsed) {
        entry.cacheUsed = false;
        entry.cacheSeq = this.budget.tick();
        this.entries.set(key, entry);
      } else {
        this.budget.release(this.weigh(key, entry));
        this.onEvict?.(key, entry);
      }
      return;
    }
  }
}

/**
 * What the heap keeps for a one-byte (Latin-1) string of `length` characters, and for the slot of
 * one entry in a Map, on 64-bit V8 without pointer compression (Node's build): a string is a
 * 16-byte header plus its characters, rounded up to 8; a Map entry is three words plus its share
 * of the bucket table and of the free room the table keeps after it doubles.
 */
export function stringBytes(length: number): number {
  return 16 + Math.ceil(length / 8) * 8;
}

export const MAP_ENTRY_BYTES = 40;

/** An object of `fields` in-object properties: map, properties and elements words, then the fields. */
export function objectBytes(fields: number): number {
  return 24 + 8 * fields;
}

/** A number stored in an object that is not a small integer (an epoch in milliseconds) is boxed. */
export const HEAP_NUMBER_BYTES = 16;

/**
 * A string of its own with the same characters, for a key or entry kept long: a slice of a
 * request header (a Bearer credential) would keep the whole header alive, and a string built by
 * concatenation is several objects. Latin-1 round trip: the credentials are ASCII.
 */
export function flatString(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}
