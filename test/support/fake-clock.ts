import { Clock } from '../../src/common/time/clock';

/**
 * The app's clock, moved on by hand: real time plus whatever the test skipped, so what happens
 * between two steps (a refresh's row lock, a grace interval) still takes the time it takes.
 */
export class FakeClock extends Clock {
  private skippedMs = 0;

  override nowMs(): number {
    return Date.now() + this.skippedMs;
  }

  /** Moves the app's time on by `seconds`, at once. */
  skip(seconds: number): void {
    this.skippedMs += seconds * 1000;
  }
}
