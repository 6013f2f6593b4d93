/**
 * One key's fixed window of authenticated uses, as this instance sees it: `shared` is the count
 * the shared store last answered (every instance's uses merged so far, this one's included),
 * `local` the uses this instance admitted since it last sent its own.
 */
export interface UseWindow {
  shared: number;
  local: number;
  resetAtMs: number;
}

/** Uses taken out of a window to be merged into the shared store: `uses` of `key` within `scope`. */
export interface PendingUses {
  scope: string;
  key: string;
  uses: number;
  window: UseWindow;
}

/**
 * Authenticated uses per policy and key (an API key, a user), counted in process memory so a
 * request never waits on the store. Alone it is exact per instance. With a shared store, the
 * owner takes the unmerged uses out (`takePending`) every interval, adds them to the shared count,
 * and hands back what the store answered (`merged`): each instance then sees the others' uses at
 * most one interval late, which is the bound on how far a shared limit can be overrun.
 *
 * Bounded like MemoryRateLimitStore: when full, expired windows go, then the oldest ones.
 */
export class UseCounts {
  private readonly scopes = new Map<string, Map<string, UseWindow>>();
  private size = 0;

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds one use of `key` and answers its window; the caller compares `shared + local` with the limit. */
  add(scope: string, key: string, windowMs: number): UseWindow {
    const now = this.now();
    let windows = this.scopes.get(scope);
    if (windows === undefined) this.scopes.set(scope, (windows = new Map()));
    let window = windows.get(key);
    if (window === undefined) {
      if (this.size >= this.maxKeys) this.makeRoom(now);
      window = { shared: 0, local: 0, resetAtMs: now + windowMs };
      windows.set(key, window);
      this.size++;
    } else if (window.resetAtMs <= now) {
      window.shared = 0;
      window.local = 0;
      window.resetAtMs = now + windowMs;
    }
    window.local++;
    return window;
  }

  /** The uses not yet merged, taken out of their windows (`local` back to 0). */
  takePending(): PendingUses[] {
    const pending: PendingUses[] = [];
    for (const [scope, windows] of this.scopes) {
      for (const [key, window] of windows) {
        if (window.local === 0) continue;
        pending.push({ scope, key, uses: window.local, window });
        window.local = 0;
      }
    }
    return pending;
  }

  /**
   * What the shared store answered for uses taken out: the count there now (theirs merged,
   * whatever other instances added) and the time left in its window, which this one adopts.
   */
  merged(pending: PendingUses, sharedCount: number, resetAtMs: number): void {
    pending.window.shared = sharedCount;
    pending.window.resetAtMs = resetAtMs;
  }

  /** The store did not take the uses: they stay local, to be sent with the next ones. */
  notMerged(pending: PendingUses): void {
    pending.window.local += pending.uses;
  }

  private makeRoom(now: number): void {
    for (const windows of this.scopes.values()) {
      for (const [key, window] of windows) if (window.resetAtMs <= now) this.drop(windows, key);
    }
    for (const windows of this.scopes.values()) {
      for (const key of windows.keys()) {
        if (this.size < this.maxKeys) return;
        this.drop(windows, key);
      }
    }
  }

  private drop(windows: Map<string, UseWindow>, key: string): void {
    windows.delete(key);
    this.size--;
  }
}
