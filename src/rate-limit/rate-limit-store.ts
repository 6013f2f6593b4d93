/** The result of adding `cost` to a counter: its value now, and when its window ends. */
export interface RateLimitCount {
  count: number;
  resetAtMs: number;
}

/** Where the counts live: process memory, or Redis so every instance shares them. */
export interface RateLimitStore {
  increment(key: string, cost: number, windowMs: number): Promise<RateLimitCount>;
  close(): Promise<void>;
}

/**
 * Fixed-window counters in process memory, bounded: when full, expired windows are swept and,
 * if that is not enough, the oldest windows are dropped (the cost of a bound is forgiveness).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, RateLimitCount>();

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  async increment(key: string, cost: number, windowMs: number): Promise<RateLimitCount> {
    return this.incrementSync(key, cost, windowMs);
  }

  /** Synchronous form for the hot path: no promise when nothing waits on I/O. */
  incrementSync(key: string, cost: number, windowMs: number): RateLimitCount {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAtMs <= now) {
      if (!window && this.windows.size >= this.maxKeys) this.makeRoom(now);
      window = { count: 0, resetAtMs: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += cost;
    return window;
  }

  async close(): Promise<void> {
    this.windows.clear();
  }

  private makeRoom(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAtMs <= now) this.windows.delete(key);
    // Maps iterate in insertion order: the first keys are the oldest windows.
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
