/**
 * A Map with a size bound: when full, the oldest entry goes. First-in-first-out rather than
 * least-recently-used, so a hit costs one lookup and no reordering on the hot path.
 */
export class BoundedCache<K, V> {
  protected readonly entries = new Map<K, V>();

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
 * A BoundedCache that evicts the least recently used entry: a hit moves its entry to the end, so
 * keys in steady use survive a stream of one-off ones (at the price of one reinsertion per hit).
 */
export class LruCache<K, V> extends BoundedCache<K, V> {
  override get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  override set(key: K, value: V): void {
    this.entries.delete(key);
    super.set(key, value);
  }
}
