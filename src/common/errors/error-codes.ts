/** The error codes of the Atiru contract, with the HTTP status each one answers. */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  MISSING_AUTH: 401,
  INVALID_OR_EXPIRED_TOKEN: 401,
  INVALID_CREDENTIALS: 401,
  EMAIL_NOT_VERIFIED: 403,
  JWT_REQUIRED: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVER_BUSY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** The body of every error response. */
export interface ErrorBody {
  error: string;
  statusCode: number;
  code: ErrorCode;
}
