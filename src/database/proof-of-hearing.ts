/**
 * Whether memory kept exact by a LISTEN connection may be served (decision 011): only until its
 * last proof of hearing, a heartbeat sent then and answered, has run out. A connection that died
 * silently still looks open, so looking open proves nothing.
 *
 * The owner forgets what each notification names, and its listener drives this: `resume` on every
 * (re)connection, once the owner has emptied what it holds (what was sent while nobody listened
 * is lost); `heard` with each heartbeat answered on that connection, which serves the same memory
 * again even after a proof ran out (TCP delivers in order, so nothing was missed in between);
 * `suspend` when the connection is lost. The hot path asks `serving`, or `servingAt` with a clock
 * it has read already: a comparison, no allocation.
 */
export class ProofOfHearing {
  private open = false;
  /** Until when (epoch ms) memory may be served; 0 with no connection. */
  private until = 0;

  /**
   * Whether a LISTEN connection is open: what its owner learns meanwhile stays exact (anything that
   * changes is forgotten when its notification comes), though it is served only on a fresh proof.
   */
  get listening(): boolean {
    return this.open;
  }

  /** Whether memory may be served now. */
  get serving(): boolean {
    return this.servingAt(Date.now());
  }

  /** Whether memory may be served at `now` (epoch ms). */
  servingAt(now: number): boolean {
    return now < this.until;
  }

  /** A (re)connected listener: serve until `until` (epoch ms), its first proof's expiry. */
  resume(until: number): void {
    this.open = true;
    this.until = until;
  }

  /** A heartbeat answered on the same connection: serve until `until`. Nothing while no connection is open. */
  heard(until: number): void {
    if (this.open) this.until = until;
  }

  /** The connection is lost: serve nothing from now on, and nothing on a late answer from it. */
  suspend(): void {
    this.open = false;
    this.until = 0;
  }
}
