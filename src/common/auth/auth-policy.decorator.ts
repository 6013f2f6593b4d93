import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';
import { ApiRateLimitedResponse } from '../http/api-rate-limited-response.decorator';

export const AUTH_POLICY = 'atiru:auth-policy';

export const PUBLIC_OPERATION_MARKER = 'x-atiru-public';

/** The metadata key @nestjs/swagger reads an operation's `security` from (`@ApiSecurity` writes it too). */
const API_SECURITY = 'swagger/apiSecurity';

/** `public`: no credential; `any`: a JWT or an API key; `jwt`: a session JWT only. */
export type AuthPolicy = 'public' | 'any' | 'jwt';

/** OpenAPI security scheme names, declared once in the document builder. */
export const SECURITY_SCHEMES = {
  jwt: 'jwt',
  bearerApiKey: 'bearer_api_key',
  headerApiKey: 'api_key',
} as const;

/** Opts a route out of the global guard. Routes are protected unless they say this. */
export const Public = (): MethodDecorator & ClassDecorator =>
  // @nestjs/swagger drops an empty `security`; the document builder turns this marker into `security: []`.
  applyDecorators(SetMetadata(AUTH_POLICY, 'public'), ApiExtension(PUBLIC_OPERATION_MARKER, true));

/**
 * Sets a route's policy for the guard and writes the same policy into the OpenAPI document,
 * so the docs and the enforcement cannot drift apart.
 */
export const Authenticated = (options: { jwtOnly?: boolean } = {}): MethodDecorator & ClassDecorator => {
  const security = options.jwtOnly
    ? [{ [SECURITY_SCHEMES.jwt]: [] }]
    : [{ [SECURITY_SCHEMES.jwt]: [] }, { [SECURITY_SCHEMES.bearerApiKey]: [] }, { [SECURITY_SCHEMES.headerApiKey]: [] }];
  const responses = [
    ApiResponse({ status: 401, description: 'MISSING_AUTH or INVALID_OR_EXPIRED_TOKEN', type: ErrorResponseDto }),
    // The guard counts failed authentications per client IP, and requests per API key and per user.
    ApiRateLimitedResponse('too many failed authentications from this address, or too many requests for this key or user'),
    ...(options.jwtOnly ? [ApiResponse({ status: 403, description: 'JWT_REQUIRED: an API key cannot call this operation', type: ErrorResponseDto })] : []),
  ];
  return applyDecorators(
    SetMetadata(AUTH_POLICY, options.jwtOnly ? 'jwt' : 'any'),
    SetMetadata(API_SECURITY, security),
    ...responses,
  );
};

