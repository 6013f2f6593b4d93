import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { AppConfig, LOG_BUFFER_DEFAULT_MB } from '../../config/app-config';
import { BatchedLinesDestination } from './batched-lines.destination';
import { currentRequestId } from './request-context';
import { isStatementError, VALUE_FIELDS, withoutSqlValues } from './sql-values';

/** The context of the access log's lines (access-log.ts). */
export const ACCESS_LOG_CONTEXT = 'AccessLog';

/** Where the access log writes its `info` lines; `enabled` is asked first, on every request. */
export interface AccessLogWriter {
  enabled(): boolean;
  write(fields: Record<string, unknown>, message: string): void;
}

/** Field names whose values never reach a log line. */
const REDACTED = [
  'password', '*.password', 'token', '*.token', 'refresh_token', '*.refresh_token', 'access_token',
  '*.access_token', 'key', '*.key', 'req.headers.authorization', 'req.headers["x-api-key"]',
  'headers.authorization', 'headers["x-api-key"]',
];

/**
 * Pino's error serializer, without what a failed statement says of the values it was given
 * (sql-values.ts). Other errors are written whole.
 */
function errorWithoutValues(error: unknown): unknown {
  return withoutValues(pino.stdSerializers.err(error as Error), 0);
}

function withoutValues(serialized: unknown, depth: number): unknown {
  if (serialized === null || typeof serialized !== 'object' || depth > 4) return serialized;
  const fields = serialized as Record<string, unknown>;
  const statement = isStatementError(fields);
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (statement && VALUE_FIELDS.has(name)) continue;
    if (statement && (name === 'message' || name === 'stack') && typeof value === 'string') copy[name] = withoutSqlValues(value);
    else copy[name] = withoutValues(value, depth + 1);
  }
  return copy;
}

/** The options of every logger of the service: its lines' shape, whatever they are written to. */
export function loggerOptions(level: string): pino.LoggerOptions {
  return {
    level,
    base: undefined,
    redact: { paths: REDACTED, censor: '[redacted]' },
    serializers: { err: errorWithoutValues },
    timestamp: isoTime,
  };
}

let stampedAtMs = -1;
let stamp = '';
let secondAtMs = -1;
/** `,"time":"2026-12-07T15:46:33.` for the second `secondAtMs` starts. */
let secondPrefix = '';

/**
 * pino's `isoTime`, formatted once per second and completed with the milliseconds: at one access
 * line per request, formatting a Date for every line (or every millisecond, when requests come
 * slower than one a millisecond) was a visible share of making a line.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== stampedAtMs) {
    stampedAtMs = now;
    const milliseconds = now % 1000;
    if (now - milliseconds !== secondAtMs) {
      secondAtMs = now - milliseconds;
      secondPrefix = `,"time":"${new Date(secondAtMs).toISOString().slice(0, 20)}`;
    }
    stamp = `${secondPrefix}${milliseconds < 10 ? '00' : milliseconds < 100 ? '0' : ''}${milliseconds}Z"`;
  }
  return stamp;
}

/** What the logger reads of the configuration; a test that gives its own destination needs no buffer. */
type LoggerConfig = Pick<AppConfig, 'env' | 'logLevel'> & Partial<Pick<AppConfig, 'logBufferMaxBytes'>>;

/** How often dropped lines are reported, in one `warn` line for all of them. */
const DROPS_REPORTED_EVERY_MS = 10_000;

/** Lines of standard output dropped since start because its reader fell behind (jsonLinesDestination). */
let droppedLines = 0;

/** Log lines dropped since start because standard output was not read fast enough. */
export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * The service's JSON lines: on standard output, written in batches (BatchedLinesDestination,
 * decision 027), unless a test gives its own destination. None in development, where pino-pretty
 * writes the lines.
 *
 * What waits for standard output's reader (a log collector that fell behind or stopped) is held
 * in memory up to `logBufferMaxBytes`; past that, lines are dropped and counted rather than held,
 * since a backlog without a bound grows by the whole log's rate until the process runs out of
 * memory, and loses everything then (decision 039).
 */
function jsonLinesDestination(config: LoggerConfig, destination?: pino.DestinationStream): pino.DestinationStream | undefined {
  if (destination) return destination;
  if (config.env === 'development') return undefined;
  // pino's own default destination (standard output, written asynchronously), behind the batches.
  const stdout = pino.destination({ dest: process.stdout.fd, maxLength: config.logBufferMaxBytes ?? LOG_BUFFER_DEFAULT_MB * 1024 * 1024 });
  stdout.on('drop', (text: string) => {
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) droppedLines++;
  });
  return new BatchedLinesDestination(stdout);
}

/** Says, at most every DROPS_REPORTED_EVERY_MS, how many lines were dropped since it last said. */
function reportDrops(root: Logger): void {
  let reported = 0;
  setInterval(() => {
    const dropped = droppedLines - reported;
    if (dropped === 0) return;
    reported += dropped;
    // Counted again, and said again, if standard output is still too far behind to take it.
    root.warn(
      { context: 'AppLogger', dropped_lines: dropped },
      `${dropped} log lines dropped: standard output was not read as fast as the service wrote, and LOG_BUFFER_MAX_MB waited unread`,
    );
  }, DROPS_REPORTED_EVERY_MS).unref();
}

/**
 * Nest's logger interface over pino, so framework and application lines share one format.
 *
 * The convention, for every call site: the message first, then an object of fields, as Nest's
 * `Logger` takes them: `logger.warn('rate limit exceeded', { policy })`, and for a failure
 * `logger.error('message', error)`. A line written while a request is served carries its
 * `request_id` without the call site passing it.
 */
export class AppLogger implements LoggerService {
  /** The service's logger: JSON lines (jsonLinesDestination), or pretty ones in development. */
  static create(config: LoggerConfig, destination?: pino.DestinationStream): AppLogger {
    const options = loggerOptions(config.logLevel);
    const lines = jsonLinesDestination(config, destination);
    if (lines) {
      const root = pino(options, lines);
      if (!destination) reportDrops(root);
      return new AppLogger(root, lines);
    }
    const pretty = { colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' };
    return new AppLogger(pino({ ...options, transport: { target: 'pino-pretty', options: pretty } }));
  }

  private constructor(
    private readonly root: Logger,
    /** Where `root` writes its JSON lines; the access log writes its own there too. */
    private readonly lines?: pino.DestinationStream,
  ) {}

  /**
   * The access log's line (access-log.ts), one per request. Its fields are fixed and hold no
   * credential, so it needs none of pino's field handling (serializers, redaction): it is made
   * here in pino's shape (level, time, context, the fields, msg) with one `JSON.stringify` and
   * written to the destination `root` writes to, so that lines keep their order (decision 030).
   * Every value is written through `JSON.stringify`, the client's address too, which behind
   * TRUST_PROXY comes from a header. Pretty lines (development) go through pino.
   */
  readonly access: AccessLogWriter = {
    enabled: () => this.root.isLevelEnabled('info'),
    write: (fields, message) => {
      if (!this.lines) {
        this.root.info({ context: ACCESS_LOG_CONTEXT, ...fields }, message);
        return;
      }
      const json = JSON.stringify(fields);
      const fieldsOnly = json.length > 2 ? `${json.slice(1, -1)},` : '';
      this.lines.write(`{"level":${pino.levels.values.info}${isoTime()},"context":"${ACCESS_LOG_CONTEXT}",${fieldsOnly}"msg":${JSON.stringify(message)}}\n`);
    },
  };

  get pino(): Logger {
    return this.root;
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    if (!this.root.isLevelEnabled(level)) return;
    // Nest passes the context (class name) last, and for errors a stack before it.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    const requestId = currentRequestId();
    if (requestId !== undefined) fields.request_id = requestId;
    let text: string | undefined;
    for (const extra of rest) {
      if (extra instanceof Error) fields.err = extra;
      else if (typeof extra === 'string' && extra.includes('\n    at ')) fields.stack = extra;
      // Pino's order, `logger.warn({ fields }, 'message')`, is not the convention, but a line
      // written that way keeps its message: Nest passes it where a stack would go.
      else if (typeof extra === 'string') text = text ? `${text} ${extra}` : extra;
      else if (extra && typeof extra === 'object') Object.assign(fields, extra);
    }
    if (message instanceof Error) {
      this.root[level]({ ...fields, err: message }, text ?? message.message);
    } else if (message && typeof message === 'object') {
      this.root[level]({ ...fields, ...(message as object) }, text);
    } else {
      this.root[level](fields, String(message));
    }
  }
}
