import { HttpException } from '@nestjs/common';
import { AppError } from './app-error';
import { ERROR_STATUS, ErrorCode } from './error-codes';

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  // PostgreSQL: connection exceptions, admin shutdown, cannot connect now, too many connections
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300',
]);

/** True when the error means the database (or another backing service) cannot be reached. */
export function isUnavailableError(error: unknown): boolean {
  for (let current: any = error, depth = 0; current && depth < 5; current = current.cause ?? current.previous, depth++) {
    if (typeof current !== 'object') return false;
    if (CONNECTION_ERROR_CODES.has(current.code)) return true;
    if (current.name === 'ConnectionException' || current.name === 'KnexTimeoutError') return true;
    const message = String(current.message ?? '');
    if (/Connection terminated|Timeout acquiring a connection|connect ECONNREFUSED|Client has encountered a connection error/i.test(message)) {
      return true;
    }
  }
  return false;
}

const STATUS_TO_CODE: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  401: 'MISSING_AUTH',
  403: 'JWT_REQUIRED',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
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
 * Returns `expected: false` for failures that are bugs, so the caller logs them in full.
 */
export function toAppError(error: unknown): { appError: AppError; expected: boolean } {
  if (error instanceof AppError) return { appError: error, expected: true };

  const err = error as any;
  const fastify = err && typeof err.code === 'string' ? FASTIFY_ERRORS[err.code] : undefined;
  if (fastify) return { appError: new AppError(fastify[0], fastify[1]), expected: fastify[0] !== 'INTERNAL_ERROR' };

  if (err instanceof SyntaxError && (err as any).statusCode === 400) {
    return { appError: new AppError('INVALID_REQUEST', 'Request body is not valid JSON'), expected: true };
  }

  if (isUnavailableError(error)) return { appError: AppError.serverBusy(), expected: false };

  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = STATUS_TO_CODE[status];
    if (code) {
      const response = error.getResponse();
      const message = typeof response === 'string' ? response : (response as any)?.message ?? error.message;
      return { appError: new AppError(code, Array.isArray(message) ? message.join('; ') : String(message)), expected: true };
    }
  }

  const status = typeof err?.statusCode === 'number' ? err.statusCode : undefined;
  if (status && status >= 400 && status < 500 && STATUS_TO_CODE[status]) {
    const code = STATUS_TO_CODE[status];
    return { appError: new AppError(code, ERROR_STATUS[code] === status ? safeMessage(err, code) : 'Bad request'), expected: true };
  }

  return { appError: new AppError('INTERNAL_ERROR', 'Internal server error'), expected: false };
}

function safeMessage(err: any, code: ErrorCode): string {
  const message = typeof err?.message === 'string' ? err.message : '';
  // Framework 4xx messages are short and about the request; anything long is not echoed.
  return message && message.length <= 200 ? message : code.replace(/_/g, ' ').toLowerCase();
}
