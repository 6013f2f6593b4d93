import { FixedWindows } from './fixed-windows';

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
 * Fixed-window counters in process memory, at most `maxKeysPerScope` in each policy
 * (FixedWindows). Authenticated uses are counted in UseCounts instead.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows: FixedWindows<RateLimitCount>;

  constructor(
    maxKeysPerScope: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windows = new FixedWindows<RateLimitCount>(
      maxKeysPerScope,
      (resetAtMs) => ({ count: 0, resetAtMs }),
      (window, resetAtMs) => {
        window.count = 0;
        window.resetAtMs = resetAtMs;
      },
    );
  }

  async increment(scope: string, key: string, cost: number, windowMs: number): Promise<RateLimitCount> {
    const window = this.windows.current(scope, key, windowMs, this.now());
    // A count given back (a negative cost) never takes a window below zero.
    window.count = Math.max(0, window.count + cost);
    return window;
  }

  async close(): Promise<void> {
    this.windows.clear();
  }
}
