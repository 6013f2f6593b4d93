/**
 * A Map with a size bound: when full, the oldest entry goes. First-in-first-out rather than
 * least-recently-used, so a hit costs one lookup and no reordering on the hot path.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.maxEntries <= 0) return;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A bounded cache that keeps the entries in use, by the CLOCK approximation of least recently
 * used: a hit marks its entry; when the cache is full, the oldest entry goes unless it was hit
 * since it came in, in which case it moves to the back, unmarked, and the next oldest is weighed.
 * So keys in steady use survive a stream of one-off ones, and a hit is one look-up and one write.
 * Moving the entry on every hit (delete, then add again) made V8 shrink and regrow a small Map's
 * table on each request, and left a large one full of holes to rehash.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; used: boolean }>();

  constructor(private readonly maxEntries: number) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  set(key: K, value: V): void {
    if (this.maxEntries <= 0) return;
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      entry.value = value;
      entry.used = true;
      return;
    }
    if (this.entries.size >= this.maxEntries) this.evictOne();
    this.entries.set(key, { value, used: false });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Ends after one pass at most: an entry moved to the back comes round again unmarked. */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.entries.set(key, entry);
    }
  }
}
