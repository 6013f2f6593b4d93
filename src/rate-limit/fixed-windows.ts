/** A counting window that ends at `resetAtMs`. */
export interface FixedWindow {
  resetAtMs: number;
}

/** One scope's windows, in the order they end, and where the next one to drop is looked for. */
interface Scope<W> {
  windows: Map<string, W>;
  /**
   * Kept for the scope's life: every key it has passed was dropped or has moved to the end, so its
   * next key is the first window. A fresh iterator would step over every entry deleted since the
   * Map last compacted, which after a flood is about as many as it holds.
   */
  order: Iterator<string>;
}

/**
 * Fixed windows per scope (a policy) and key, in process memory: one Map per scope, so finding a
 * key's window builds no string. Each scope is bounded on its own, so keys a client makes up at
 * will in one scope never push out another scope's counts. A scope's windows all have the same
 * length and one that starts again moves to the end of its Map, so the Map's order is the order
 * they end in: when the scope is full its first window goes, an ended one if any has, without a
 * scan. (UseCounts adopts the end the shared store answers, a little off that order; a window
 * dropped a little early is forgiven a little early.) The cost of the bound is forgiveness: a
 * dropped count starts again.
 */
export class FixedWindows<W extends FixedWindow> {
  private readonly scopes = new Map<string, Scope<W>>();

  /**
   * `open` makes a new window ending at `resetAtMs`; `restart` empties an ended one and sets its
   * new end.
   */
  constructor(
    private readonly maxKeysPerScope: number,
    private readonly open: (resetAtMs: number) => W,
    private readonly restart: (window: W, resetAtMs: number) => void,
  ) {}

  /** The window `key` counts in at `now`: its current one, a restarted one, or a new one. */
  current(scope: string, key: string, windowMs: number, now: number): W {
    let found = this.scopes.get(scope);
    if (found === undefined) {
      const windows = new Map<string, W>();
      this.scopes.set(scope, (found = { windows, order: windows.keys() }));
    }
    const { windows } = found;
    let window = windows.get(key);
    if (window === undefined) {
      if (windows.size >= this.maxKeysPerScope) this.dropFirst(found);
      window = this.open(now + windowMs);
      windows.set(key, window);
    } else if (window.resetAtMs <= now) {
      this.restart(window, now + windowMs);
      // It now ends last of its scope.
      windows.delete(key);
      windows.set(key, window);
    }
    return window;
  }

  /** Every window, with its scope and key. */
  *entries(): Generator<[scope: string, key: string, window: W]> {
    for (const [scope, { windows }] of this.scopes) {
      for (const [key, window] of windows) yield [scope, key, window];
    }
  }

  clear(): void {
    this.scopes.clear();
  }

  /** Called on a full scope, so there is a first window (and `order` never runs out). */
  private dropFirst({ windows, order }: Scope<W>): void {
    const first = order.next();
    if (!first.done) windows.delete(first.value);
  }
}
