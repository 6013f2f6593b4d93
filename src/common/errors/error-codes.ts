/** The error codes of the Atiru contract, with the HTTP status each one answers. */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  MISSING_AUTH: 401,
  INVALID_OR_EXPIRED_TOKEN: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_CLIENT: 401,
  EMAIL_NOT_VERIFIED: 403,
  JWT_REQUIRED: 403,
  INSUFFICIENT_SCOPE: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVER_BUSY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** The codes an HTTP status can carry, in the order of the table above. */
export function codesOfStatus(status: number): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_STATUS[code] === status);
}

/** One field a validation error names: where, which rule, and what to tell a person. */
export interface FieldError {
  /** The field's path in the request, `.`-separated for nested fields (`email`, `user.name`). */
  field: string;
  /** The rule that failed, e.g. `isEmail`, `minLength`, `unknownField`. */
  code: string;
  message: string;
}

/** The body of every error response: the contract's three fields, then what helps a program act. */
export interface ErrorBody {
  error: string;
  statusCode: number;
  code: ErrorCode;
  /** The request's id, as in its `X-Request-Id` header: quote it when reporting a problem. */
  request_id?: string;
  /** Validation errors only: every offending field. */
  errors?: FieldError[];
}
