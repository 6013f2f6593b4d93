/** A counting window that ends at `resetAtMs`. */
export interface FixedWindow {
  resetAtMs: number;
}

/** A window in its scope's list, which runs in the order the windows end. */
interface Slot<W> {
  readonly key: string;
  readonly window: W;
  earlier: Slot<W> | undefined;
  later: Slot<W> | undefined;
}

/** One scope's windows: found by key, and listed from the one that ends first. */
interface Scope<W> {
  readonly slots: Map<string, Slot<W>>;
  first: Slot<W> | undefined;
  last: Slot<W> | undefined;
}

/**
 * Fixed windows per scope (a policy) and key, in process memory: one Map per scope, so finding a
 * key's window builds no string. Each scope is bounded on its own, so keys a client makes up at
 * will in one scope never push out another scope's counts. A scope's windows all have the same
 * length, and one that starts again moves to the end of its list, so the list runs in the order
 * they end: when the scope is full its first window goes, an ended one if any has, without a scan.
 * (UseCounts adopts the end the shared store answers, a little off that order; a window dropped a
 * little early is forgiven a little early.) The cost of the bound is forgiveness: a dropped count
 * starts again.
 *
 * The order is a list of its own rather than the Map's insertion order: taking the Map's first key
 * needs an iterator, and a fresh one steps over every entry deleted since the Map last compacted,
 * while one kept for good holds on to every table the Map has outgrown.
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
    if (found === undefined) this.scopes.set(scope, (found = { slots: new Map(), first: undefined, last: undefined }));
    const slot = found.slots.get(key);
    if (slot === undefined) {
      if (found.slots.size >= this.maxKeysPerScope) this.dropFirst(found);
      const added: Slot<W> = { key, window: this.open(now + windowMs), earlier: undefined, later: undefined };
      found.slots.set(key, added);
      append(found, added);
      return added.window;
    }
    if (slot.window.resetAtMs <= now) {
      this.restart(slot.window, now + windowMs);
      // It now ends last of its scope.
      unlink(found, slot);
      append(found, slot);
    }
    return slot.window;
  }

  /** Every window, with its scope and key; each scope's from the one that ends first. */
  *entries(): Generator<[scope: string, key: string, window: W]> {
    for (const [name, scope] of this.scopes) {
      for (let slot = scope.first; slot !== undefined; slot = slot.later) yield [name, slot.key, slot.window];
    }
  }

  clear(): void {
    this.scopes.clear();
  }

  private dropFirst(scope: Scope<W>): void {
    const first = scope.first;
    if (first === undefined) return;
    unlink(scope, first);
    scope.slots.delete(first.key);
  }
}

function append<W>(scope: Scope<W>, slot: Slot<W>): void {
  slot.earlier = scope.last;
  slot.later = undefined;
  if (scope.last === undefined) scope.first = slot;
  else scope.last.later = slot;
  scope.last = slot;
}

function unlink<W>(scope: Scope<W>, slot: Slot<W>): void {
  if (slot.earlier === undefined) scope.first = slot.later;
  else slot.earlier.later = slot.later;
  if (slot.later === undefined) scope.last = slot.earlier;
  else slot.later.earlier = slot.earlier;
  slot.earlier = slot.later = undefined;
}
