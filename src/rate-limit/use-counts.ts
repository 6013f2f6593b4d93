import { FixedWindows } from './fixed-windows';

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
 * most one interval late, which is the bound on how far a shared limit can be overrun. Uses sent
 * once are never sent again (`perhapsMerged`), so a late answer cannot count them twice; if the
 * store lost them unanswered (it died meanwhile), this instance counts them until the store's
 * next answer for the key, and then nobody does: at most one interval's uses of one instance.
 *
 * Bounded per policy (FixedWindows): when one is full, its window that ends first goes.
 */
export class UseCounts {
  private readonly windows: FixedWindows<UseWindow>;

  constructor(
    maxKeysPerScope: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windows = new FixedWindows<UseWindow>(
      maxKeysPerScope,
      (resetAtMs) => ({ shared: 0, local: 0, resetAtMs }),
      (window, resetAtMs) => {
        window.shared = 0;
        window.local = 0;
        window.resetAtMs = resetAtMs;
      },
    );
  }

  /** Adds one use of `key` and answers its window; the caller compares `shared + local` with the limit. */
  add(scope: string, key: string, windowMs: number): UseWindow {
    const window = this.windows.current(scope, key, windowMs, this.now());
    window.local++;
    return window;
  }

  /** The uses not yet merged, taken out of their windows (`local` back to 0). */
  takePending(): PendingUses[] {
    const pending: PendingUses[] = [];
    for (const [scope, key, window] of this.windows.entries()) {
      if (window.local === 0) continue;
      pending.push({ scope, key, uses: window.local, window });
      window.local = 0;
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

  /**
   * The store may have taken the uses (it did not answer in time): they count as merged, never to
   * be sent again, since a store that answers late has almost always added them and sending them
   * again would count them twice everywhere. The next answer for the key says what it holds.
   */
  perhapsMerged(pending: PendingUses): void {
    pending.window.shared += pending.uses;
  }
}
