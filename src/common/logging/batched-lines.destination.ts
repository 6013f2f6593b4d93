import type { DestinationStream } from 'pino';

/** How long an `info` line (or a quieter one) may wait for others to share its write. */
export const BATCH_WINDOW_MS = 10;
/**
 * A batch this long (in characters) is handed on at once rather than at the end of its window.
 * Under load it is this size, not the window, that sets how often a write is made, and each write
 * is a trip through libuv's thread pool, whose threads the password hashes need: a Linux pipe's
 * whole default capacity, so that a busy instance makes few of them.
 */
const BATCH_MAX_CHARS = 64 * 1024;
/** Where the level's first digit stands in a pino line: `{"level":30,…`. */
const LEVEL_DIGIT_AT = '{"level":'.length;
const WARN_DIGIT = '4'.charCodeAt(0);

/**
 * A pino destination that hands lines on to `out` in batches: `info` lines and below wait up to
 * BATCH_WINDOW_MS for others, so that a service writing one access line per request makes one
 * write for many lines rather than one each (decision 027); a `warn` line or above is handed on at
 * once, after whatever waits before it, so lines keep their order and a warning is never held
 * back. Whatever waits is handed on when the process exits, for any reason that lets Node run its
 * `exit` handlers, and `out` then writes what it can at once, as pino's own destination does at
 * exit (a write it has in flight to a reader that is behind may be lost, as before); a kill that
 * runs no handler (SIGKILL, an abort) loses a window of `info` lines besides.
 *
 * The level is read from the line's first field, which is where pino writes it while no
 * `formatters.level` renames it (AppLogger.create sets none).
 */
export class BatchedLinesDestination implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  private timer?: NodeJS.Timeout;

  /** `out` writes asynchronously; its `flushSync` is called at exit, once the last lines have reached it. */
  constructor(private readonly out: DestinationStream & { flushSync(): void }) {
    process.once('exit', () => {
      this.flush();
      try {
        this.out.flushSync();
      } catch {
        // A destination that takes nothing more (its reader gone) loses what it holds, as it would anyway.
      }
    });
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_MAX_CHARS || line.charCodeAt(LEVEL_DIGIT_AT) >= WARN_DIGIT) {
      this.flush();
    } else if (this.timer === undefined) {
      // Unreferenced: a batch must not keep a finished process alive; the exit handler writes it.
      this.timer = setTimeout(() => this.flush(), BATCH_WINDOW_MS).unref();
    }
  }

  /** Hands on every waiting line now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const text = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(text);
  }
}
