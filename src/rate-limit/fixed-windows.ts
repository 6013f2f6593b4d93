/** A counting window that ends at `resetAtMs`. */
export interface FixedWindow {
  resetAtMs: number;
}

/**
 * Fixed windows per scope (a policy) and key, in process memory: one Map per scope, so finding a
 * key's window builds no string. Bounded in all: when full, expired windows are swept and, if
 * that is not enough, the oldest ones are dropped (the cost of a bound is forgiveness).
 */
export class FixedWindows<W extends FixedWindow> {
  private readonly scopes = new Map<string, Map<string, W>>();
  private size = 0;

  /**
   * `open` makes a new window ending at `resetAtMs`; `restart` empties an ended one and sets its
   * new end.
   */
  constructor(
    private readonly maxKeys: number,
    private readonly open: (resetAtMs: number) => W,
    private readonly restart: (window: W, resetAtMs: number) => void,
  ) {}

  /** The window `key` counts in at `now`: its current one, a restarted one, or a new one. */
  current(scope: string, key: string, windowMs: number, now: number): W {
    let windows = this.scopes.get(scope);
    if (windows === undefined) this.scopes.set(scope, (windows = new Map()));
    let window = windows.get(key);
    if (window === undefined) {
      if (this.size >= this.maxKeys) this.makeRoom(now);
      window = this.open(now + windowMs);
      windows.set(key, window);
      this.size++;
    } else if (window.resetAtMs <= now) {
      this.restart(window, now + windowMs);
    }
    return window;
  }

  /** Every window, with its scope and key. */
  *entries(): Generator<[scope: string, key: string, window: W]> {
    for (const [scope, windows] of this.scopes) {
      for (const [key, window] of windows) yield [scope, key, window];
    }
  }

  clear(): void {
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

  private drop(windows: Map<string, W>, key: string): void {
    windows.delete(key);
    this.size--;
  }
}
