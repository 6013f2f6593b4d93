/**
 * For fakes of a slow statement: while held, whoever awaits `passage()` waits, as requests wait on
 * a statement in flight; `release()` lets them all through.
 */
export class Gate {
  private closed?: Promise<void>;
  private open?: () => void;

  hold(): void {
    this.closed = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.closed = undefined;
  }

  /** Resolves at once while the gate is not held. */
  async passage(): Promise<void> {
    await this.closed;
  }
}
