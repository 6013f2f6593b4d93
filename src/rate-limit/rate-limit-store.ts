/** The result of adding `cost` to a counter: its value now, and when its window ends. */
export interface RateLimitCount {
  count: number;
  resetAtMs: number;
}

/** Where the counts live: process memory, or Redis so every instance shares them. */
export interface RateLimitStore {
  /** Adds `cost` to the counter of `key` within `scope` (a policy), in a window of `windowMs`. */
  increment(scope: string, key: string, cost: number, windowMs: number): Promise<RateLimitCount>;
  close(): Promise<void>;
}

/**
 * Fixed-window counters in process memory, one Map per scope, bounded in all: when full, expired
 * windows are swept and, if that is not enough, the oldest windows are dropped (the cost of a
 * bound is forgiveness). A Map per scope rather than one keyed by `${scope}:${key}`, so counting
 * builds no string per request. Authenticated uses are counted in UseCounts instead.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly scopes = new Map<string, Map<string, RateLimitCount>>();
  private size = 0;

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  async increment(scope: string, key: string, cost: number, windowMs: number): Promise<RateLimitCount> {
    const now = this.now();
    let windows = this.scopes.get(scope);
    if (windows === undefined) this.scopes.set(scope, (windows = new Map()));
    let window = windows.get(key);
    if (window === undefined) {
      if (this.size >= this.maxKeys) this.makeRoom(now);
      window = { count: 0, resetAtMs: now + windowMs };
      windows.set(key, window);
      this.size++;
    } else if (window.resetAtMs <= now) {
      window.count = 0;
      window.resetAtMs = now + windowMs;
    }
    window.count += cost;
    return window;
  }

  async close(): Promise<void> {
    this.scopes.clear();
    this.size = 0;
  }

  private makeRoom(now: number): void {
    for (const windows of this.scopes.values()) {
      for (const [key, window] of windows) if (window.resetAtMs <= now) this.drop(windows, key);
    }
    // Maps iterate in insertion order: the first keys of each scope are its oldest windows.
    for (const windows of this.scopes.values()) {
      for (const key of windows.keys()) {
        if (this.size < this.maxKeys) return;
        this.drop(windows, key);
      }
    }
  }

  private drop(windows: Map<string, RateLimitCount>, key: string): void {
    windows.delete(key);
    this.size--;
  }
}
