import { Writable } from 'node:stream';
import { AppLogger } from '../../src/common/logging/app.logger';

/**
 * A real pino logger writing JSON lines into memory, so tests can assert on what was logged.
 * Nest's `Logger` is process-wide: with several apps in one test process, lines from all of
 * them reach the capture of the app created last.
 */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: AppLogger;

  constructor(level: 'debug' | 'info' | 'warn' = 'debug') {
    const sink = new Writable({
      write: (chunk, _encoding, callback) => {
        this.lines.push(...String(chunk).split('\n').filter(Boolean));
        callback();
      },
    });
    this.logger = AppLogger.create({ env: 'test', logLevel: level }, sink);
  }

  get text(): string {
    return this.lines.join('\n');
  }

  entries(): Array<Record<string, any>> {
    return this.lines.map((line) => JSON.parse(line));
  }
}
