import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { stringify } from 'yaml';
import { PUBLIC_OPERATION_MARKER, SECURITY_SCHEMES } from './common/auth/auth-policy.decorator';
import { ErrorResponseDto } from './common/errors/error-response.dto';

/** One tag per module; controllers use these names in `@ApiTags`. */
export const API_TAGS = {
  auth: 'Sign-up, email confirmation, login, sessions and password reset',
  users: 'The signed-in user',
  'api-keys': 'API keys for scripts and servers; managing them needs a session JWT',
  service: 'Health, the keys that verify access tokens, and this contract',
} as const;

/**
 * What the service answers before or around any handler, so every operation can give it whether
 * or not its controller thought to say so: oversized request heads are refused for any route (the
 * client error handler in app.factory.ts), and Fastify parses (and refuses) a body sent to any
 * POST, PUT, PATCH or DELETE route, whether the operation reads one or not.
 */
const REQUEST_ERROR_RESPONSES = {
  '413': 'PAYLOAD_TOO_LARGE: the request headers are over the size limit',
} as const;
const BODY_ERROR_RESPONSES = {
  '400': 'INVALID_REQUEST: the body is not valid JSON or fails validation (the message names the fields)',
  '413': 'PAYLOAD_TOO_LARGE: the request body or headers are over the size limit',
  '415': 'UNSUPPORTED_MEDIA_TYPE: the body is not application/json',
} as const;
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/** Builds the OpenAPI document from the controllers' decorators; no database needed. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Atiru Auth')
    .setDescription(
      'Sign-up, email confirmation, sessions and API keys for the Atiru API. Every error answers ' +
        '`{ error, statusCode, code }`. Send a session access token (JWT) or an API key as ' +
        '`Authorization: Bearer <credential>`, or an API key as `X-Api-Key: <key>`.',
    )
    .setVersion('1.0.0')
    .setLicense('Proprietary', 'https://atiru.dev/terms')
    .addServer('/', 'This service')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A session access token from POST /auth/login' }, SECURITY_SCHEMES.jwt)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'atiru_ API key', description: 'An API key sent as `Authorization: Bearer atiru_…`' }, SECURITY_SCHEMES.bearerApiKey)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key sent as `X-Api-Key: atiru_…`' }, SECURITY_SCHEMES.headerApiKey);
  for (const [name, description] of Object.entries(API_TAGS)) builder.addTag(name, description);
  const config = builder.build();
  // The builder starts from an empty contact object, which says nothing and trips linters.
  delete config.info.contact;

  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorResponseDto],
  });
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, any][]) {
      if (operation?.[PUBLIC_OPERATION_MARKER]) {
        delete operation[PUBLIC_OPERATION_MARKER];
        operation.security = [];
      } else if (operation && !operation.security) {
        throw new Error(`${method.toUpperCase()} ${path} declares no auth policy: add @Public() or @Authenticated()`);
      }
      if (operation) addErrorResponses(operation, operation.requestBody || BODY_METHODS.has(method) ? BODY_ERROR_RESPONSES : REQUEST_ERROR_RESPONSES);
    }
  }
  return document;
}

function addErrorResponses(operation: { responses: Record<string, unknown> }, responses: Record<string, string>): void {
  for (const [status, description] of Object.entries(responses)) {
    operation.responses[status] ??= {
      description,
      content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorResponseDto) } } },
    };
  }
  operation.responses = Object.fromEntries(Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)));
}

export function toYaml(document: OpenAPIObject): string {
  return stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}
