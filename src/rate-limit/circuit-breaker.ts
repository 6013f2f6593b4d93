/**
 * Stops calling a backing service that keeps failing, so callers stop waiting for it: after
 * `failuresToOpen` failures in a row it opens, and `allow()` says no at once until `close()`
 * (its owner probes the service in the background and closes it when the service answers).
 * Calls in flight when it opens still finish; their outcome changes nothing.
 */
export class CircuitBreaker {
  private failures = 0;
  private open = false;

  constructor(
    private readonly failuresToOpen: number,
    private readonly onChange: (open: boolean) => void = () => undefined,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Whether to call the service now. */
  allow(): boolean {
    return !this.open;
  }

  succeeded(): void {
    this.failures = 0;
  }

  failed(): void {
    if (this.open) return;
    if (++this.failures < this.failuresToOpen) return;
    this.open = true;
    this.onChange(true);
  }

  /** The service answered a probe: call it again. */
  close(): void {
    this.failures = 0;
    if (!this.open) return;
    this.open = false;
    this.onChange(false);
  }
}
