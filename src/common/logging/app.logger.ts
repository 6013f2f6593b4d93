import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
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
 * The access log's fields are fixed and none is a credential, so its lines skip the wildcard
 * paths above, which cost a line more than all the rest of its making (decision 003).
 */
const ACCESS_LOG_REDACTED = REDACTED.filter((path) => !path.startsWith('*'));

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

/**
 * pino's `isoTime`, formatted once per millisecond: at one access line per request many lines
 * share a millisecond, and formatting a Date was a visible share of making a line.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== stampedAtMs) {
    stampedAtMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

/**
 * The service's logger: JSON lines on standard output, written in batches (BatchedLinesDestination,
 * decision 027), or pretty ones in development; tests give their own destination.
 */
export function createRootLogger(config: Pick<AppConfig, 'env' | 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options = loggerOptions(config.logLevel);
  if (destination) return pino(options, destination);
  if (config.env === 'development') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  // pino's own default destination (standard output, written asynchronously), behind the batches.
  return pino(options, new BatchedLinesDestination(pino.destination({ dest: process.stdout.fd })));
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
  private readonly accessLines: Logger;

  constructor(private readonly root: Logger) {
    this.accessLines = root.child({ context: ACCESS_LOG_CONTEXT }, { redact: { paths: ACCESS_LOG_REDACTED, censor: '[redacted]' } });
  }

  /**
   * Writes the access log's line (access-log.ts) straight to its logger, when its level is on:
   * it is written for every request, and Nest's `Logger` and the field handling of `write` below
   * are more than the line needs.
   */
  readonly access: AccessLogWriter = {
    enabled: () => this.accessLines.isLevelEnabled('info'),
    write: (fields, message) => this.accessLines.info(fields, message),
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
