import { HttpException } from '@nestjs/common';
import { AppError } from './app-error';
import { ErrorCode } from './error-codes';

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED',
  // PostgreSQL: connection exceptions, admin shutdown, crash shutdown, cannot connect now, too many connections
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300',
  // statement_timeout: the server is too busy (or a lock too long held) to answer in time
  '57014',
]);

/**
 * What the pg client, its pool and knex say when the server cannot be reached or stops answering.
 * These errors carry no code, and knex puts the failed statement before the message
 * (`select … - Query read timeout`), so they are matched at the end:
 * - `timeout expired`: pg's connect timeout, what a server that accepts connections and never answers gives;
 * - `Query read timeout`: a statement the server never answered (the pool's patience,
 *   mikro-orm.options.ts), what a server frozen mid-query gives;
 * - `Connection terminated…`, `…is not queryable`: a connection that broke, or what was queued on it;
 * - `Transaction query already complete`: knex ended the transaction when its connection broke,
 *   and the transaction's next statement says so;
 * - the pool's own timeouts, and a refused connection.
 */
const CONNECTION_ERROR_MESSAGES =
  /(?:^|- )(?:timeout expired|Query read timeout)$|timeout exceeded when trying to connect|Connection terminated|Connection ended unexpectedly|Timeout acquiring a connection|connect ECONNREFUSED|is not queryable|Transaction query already complete/i;

/** True when the error means the database (or another backing service) cannot be reached. */
export function isUnavailableError(error: unknown): boolean {
  for (let current: any = error, depth = 0; current && depth < 5; current = current.cause ?? current.previous, depth++) {
    if (typeof current !== 'object') return false;
    if (CONNECTION_ERROR_CODES.has(current.code)) return true;
    if (current.name === 'ConnectionException' || current.name === 'KnexTimeoutError') return true;
    if (CONNECTION_ERROR_MESSAGES.test(String(current.message ?? ''))) return true;
  }
  return false;
}

/**
 * The statuses that have exactly one code, so a framework exception with that status can only
 * mean it. 401 and 403 have several codes each (MISSING_AUTH or INVALID_OR_EXPIRED_TOKEN...):
 * a bare UnauthorizedException or ForbiddenException says none of them, so it is not guessed at;
 * it answers 500 and is logged as the bug it is (throw an AppError with the right code instead).
 */
const STATUS_TO_CODE: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVER_BUSY',
};

/** Fastify's own errors, raised before a request reaches Nest (body parsing, limits). */
const FASTIFY_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'Request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['INVALID_REQUEST', 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['INVALID_REQUEST', 'Request body is empty but Content-Type is application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['INVALID_REQUEST', 'Request body is not valid JSON'],
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: ['INTERNAL_ERROR', 'Internal server error'],
};

/**
 * Maps anything thrown while serving a request onto the contract's error family.
 * Returns `expected: false` for failures that are bugs, so the caller logs them in full, and
 * `outage: true` when the database could not be reached, which is reported once per outage.
 */
export function toAppError(error: unknown): { appError: AppError; expected: boolean; outage?: true } {
  if (error instanceof AppError) return { appError: error, expected: true };

  const err = error as any;
  const fastify = err && typeof err.code === 'string' ? FASTIFY_ERRORS[err.code] : undefined;
  if (fastify) return { appError: new AppError(fastify[0], fastify[1]), expected: fastify[0] !== 'INTERNAL_ERROR' };

  if (err instanceof SyntaxError && (err as any).statusCode === 400) {
    return { appError: new AppError('INVALID_REQUEST', 'Request body is not valid JSON'), expected: true };
  }

  if (isUnavailableError(error)) return { appError: AppError.serverBusy(), expected: true, outage: true };

  if (error instanceof HttpException) {
    const code = STATUS_TO_CODE[error.getStatus()];
    if (code) {
      const response = error.getResponse();
      const message = typeof response === 'string' ? response : (response as any)?.message ?? error.message;
      const appError = new AppError(code, Array.isArray(message) ? message.join('; ') : String(message));
      return { appError: code === 'SERVER_BUSY' ? AppError.serverBusy(appError.message) : appError, expected: true };
    }
  }

  const status = typeof err?.statusCode === 'number' ? err.statusCode : undefined;
  const code = status !== undefined && status >= 400 && status < 500 ? STATUS_TO_CODE[status] : undefined;
  if (code) return { appError: new AppError(code, safeMessage(err, code)), expected: true };

  return { appError: new AppError('INTERNAL_ERROR', 'Internal server error'), expected: false };
}

function safeMessage(err: any, code: ErrorCode): string {
  const message = typeof err?.message === 'string' ? err.message : '';
  // Framework 4xx messages are short and about the request; anything long is not echoed.
  return message && message.length <= 200 ? message : code.replace(/_/g, ' ').toLowerCase();
}
