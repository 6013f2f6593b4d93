import pino from 'pino';
import { loggerOptions } from '../../src/common/logging/app.logger';
import { BATCH_WINDOW_MS, BatchedLinesDestination } from '../../src/common/logging/batched-lines.destination';

/** What reached the destination behind the batches, write by write. */
class Recorder {
  readonly writes: string[] = [];
  flushes = 0;
  write(text: string): void {
    this.writes.push(text);
  }
  flushSync(): void {
    this.flushes++;
  }
}

const line = (level: number, msg: string) => `{"level":${level},"time":"2026-12-06T18:00:00.000Z","msg":"${msg}"}\n`;

describe('BatchedLinesDestination', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('holds info lines for the window and then writes them in one write, in order', () => {
    const out = new Recorder();
    const batches = new BatchedLinesDestination(out);
    batches.write(line(30, 'one'));
    batches.write(line(30, 'two'));
    batches.write(line(20, 'three'));
    expect(out.writes).toEqual([]);

    jest.advanceTimersByTime(BATCH_WINDOW_MS - 1);
    expect(out.writes).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(out.writes).toEqual([line(30, 'one') + line(30, 'two') + line(20, 'three')]);

    batches.write(line(30, 'four'));
    jest.advanceTimersByTime(BATCH_WINDOW_MS);
    expect(out.writes).toEqual([line(30, 'one') + line(30, 'two') + line(20, 'three'), line(30, 'four')]);
  });

  it('writes a warning or worse at once, after the lines that wait before it', () => {
    const out = new Recorder();
    const batches = new BatchedLinesDestination(out);
    batches.write(line(30, 'before'));
    batches.write(line(40, 'warned'));
    expect(out.writes).toEqual([line(30, 'before') + line(40, 'warned')]);
    batches.write(line(50, 'failed'));
    batches.write(line(60, 'fatal'));
    expect(out.writes).toEqual([line(30, 'before') + line(40, 'warned'), line(50, 'failed'), line(60, 'fatal')]);

    // Nothing is left for the window's timer to write.
    jest.advanceTimersByTime(BATCH_WINDOW_MS);
    expect(out.writes).toHaveLength(3);
  });

  it('writes a batch at once when it grows long, without waiting for the window', () => {
    const out = new Recorder();
    const batches = new BatchedLinesDestination(out);
    const long = line(30, 'x'.repeat(1000));
    let written = 0;
    while (out.writes.length === 0) {
      batches.write(long);
      written++;
    }
    expect(written).toBeGreaterThan(1);
    expect(out.writes).toEqual([long.repeat(written)]);
  });

  it("tells the service's own warnings from its info lines, as its logger writes them", () => {
    const out = new Recorder();
    const logger = pino(loggerOptions('debug'), new BatchedLinesDestination(out));
    logger.debug('quiet');
    logger.info({ event: 'http_request' }, 'GET /users/me 200');
    expect(out.writes).toEqual([]);
    logger.warn('denied');
    expect(out.writes).toHaveLength(1);
    expect(out.writes[0].split('\n').filter(Boolean).map((text) => JSON.parse(text).msg)).toEqual(['quiet', 'GET /users/me 200', 'denied']);
    logger.error('failed');
    expect(out.writes).toHaveLength(2);
  });
});
