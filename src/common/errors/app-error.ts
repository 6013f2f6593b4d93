import { ERROR_STATUS, ErrorBody, ErrorCode, FieldError } from './error-codes';

/**
 * The one error family services throw. The global filter turns it into the contract's
 * `{ error, statusCode, code }` body; `headers` lets a thrower add e.g. `Retry-After`, and
 * `fieldErrors` names the offending fields of a request that fails validation.
 */
export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly fieldErrors?: FieldError[],
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = ERROR_STATUS[code];
  }

  /** The response body; `requestId` is the id the response's `X-Request-Id` header carries. */
  toBody(requestId?: string): ErrorBody {
    const body: ErrorBody = { error: this.message, statusCode: this.statusCode, code: this.code };
    if (requestId !== undefined) body.request_id = requestId;
    if (this.fieldErrors !== undefined) body.errors = this.fieldErrors;
    return body;
  }

  static invalidRequest(message: string, fieldErrors?: FieldError[]): AppError {
    return new AppError('INVALID_REQUEST', message, {}, fieldErrors);
  }

  static notFound(message = 'Not found'): AppError {
    return new AppError('NOT_FOUND', message);
  }

  static missingAuth(message = 'Authentication required'): AppError {
    return new AppError('MISSING_AUTH', message);
  }

  static invalidToken(message = 'Invalid or expired token'): AppError {
    return new AppError('INVALID_OR_EXPIRED_TOKEN', message);
  }

  static serverBusy(message = 'The service is temporarily unavailable, please retry'): AppError {
    return new AppError('SERVER_BUSY', message, { 'retry-after': '1' });
  }
}
