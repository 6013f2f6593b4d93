import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';
import { ApiRateLimitedResponse } from '../http/api-rate-limited-response.decorator';

export const AUTH_POLICY = 'atiru:auth-policy';

/** A route's own list of the scopes a limited API key needs (else `defaultScopes` of its method). */
export const AUTH_SCOPES = 'atiru:auth-scopes';

export const PUBLIC_OPERATION_MARKER = 'x-atiru-public';

/** The operation extension that names the scopes a limited API key needs; the document builder fills in the default. */
export const API_KEY_SCOPES_EXTENSION = 'x-api-key-scopes';

/** The metadata key @nestjs/swagger reads an operation's `security` from (`@ApiSecurity` writes it too). */
const API_SECURITY = 'swagger/apiSecurity';

/**
 * `public`: no credential; `any`: a JWT or an API key; `jwt`: a session JWT only; `client`: a
 * service client's HTTP Basic credentials (INTROSPECTION_CLIENTS), no user at all.
 */
export type AuthPolicy = 'public' | 'any' | 'jwt' | 'client';

/** OpenAPI security scheme names, declared once in the document builder. */
export const SECURITY_SCHEMES = {
  jwt: 'jwt',
  bearerApiKey: 'bearer_api_key',
  headerApiKey: 'api_key',
  introspectionClient: 'introspection_client',
} as const;

/** Opts a route out of the global guard. Routes are protected unless they say this. */
export const Public = (): MethodDecorator & ClassDecorator =>
  // @nestjs/swagger drops an empty `security`; the document builder turns this marker into `security: []`.
  applyDecorators(SetMetadata(AUTH_POLICY, 'public'), ApiExtension(PUBLIC_OPERATION_MARKER, true));

/**
 * Sets a route's policy for the guard and writes the same policy into the OpenAPI document,
 * so the docs and the enforcement cannot drift apart.
 */
export const Authenticated = (options: { jwtOnly?: boolean; scopes?: readonly string[] } = {}): MethodDecorator & ClassDecorator => {
  const security = options.jwtOnly
    ? [{ [SECURITY_SCHEMES.jwt]: [] }]
    : [{ [SECURITY_SCHEMES.jwt]: [] }, { [SECURITY_SCHEMES.bearerApiKey]: [] }, { [SECURITY_SCHEMES.headerApiKey]: [] }];
  const responses = [
    ApiResponse({ status: 401, description: 'MISSING_AUTH or INVALID_OR_EXPIRED_TOKEN', type: ErrorResponseDto }),
    // The guard counts failed authentications per client IP, and requests per API key and per user.
    ApiRateLimitedResponse('too many failed authentications from this address, or too many requests for this key or user'),
    ApiResponse({
      status: 403,
      description: options.jwtOnly
        ? 'JWT_REQUIRED: an API key cannot call this operation (INSUFFICIENT_SCOPE first, when the key is limited to scopes without the one this method needs)'
        : 'INSUFFICIENT_SCOPE: the API key is limited to scopes without one this operation needs',
      type: ErrorResponseDto,
    }),
  ];
  const scopes = options.scopes ? [SetMetadata(AUTH_SCOPES, Object.freeze([...options.scopes])), ApiExtension(API_KEY_SCOPES_EXTENSION, [...options.scopes])] : [];
  return applyDecorators(
    SetMetadata(AUTH_POLICY, options.jwtOnly ? 'jwt' : 'any'),
    SetMetadata(API_SECURITY, security),
    ...scopes,
    ...responses,
  );
};

/**
 * For operations that other services call as themselves, not for a user: HTTP Basic with a client
 * id and secret from INTROSPECTION_CLIENTS (RFC 7662 §2.1). Sets the guard's policy and the
 * operation's security, as `Authenticated` does.
 */
export const IntrospectionClientOnly = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(AUTH_POLICY, 'client'),
    SetMetadata(API_SECURITY, [{ [SECURITY_SCHEMES.introspectionClient]: [] }]),
    ApiResponse({
      status: 401,
      description: 'INVALID_CLIENT: no client credentials, or not those of a client in INTROSPECTION_CLIENTS; the answer carries `WWW-Authenticate: Basic`',
      type: ErrorResponseDto,
    }),
    // Credentials this instance has not verified before are refused while the address is over its failed-authentication limit.
    ApiRateLimitedResponse('too many failed authentications from this address, and client credentials this instance has not verified before'),
  );

