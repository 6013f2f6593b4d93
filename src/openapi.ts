import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Document as YamlDocument, isScalar, visit } from 'yaml';
import { API_KEY_SCOPES_EXTENSION, PUBLIC_OPERATION_MARKER, SECURITY_SCHEMES } from './common/auth/auth-policy.decorator';
import { defaultScopes } from './common/auth/scopes';
import { codesOfStatus, ErrorBody, ErrorCode } from './common/errors/error-codes';
import { ErrorResponseDto, FieldErrorDto } from './common/errors/error-response.dto';

/** One tag per module; controllers use these names in `@ApiTags`. */
export const API_TAGS = {
  auth: 'Sign-up, email confirmation, login, sessions and password reset',
  users: 'The signed-in user',
  'api-keys': 'API keys for scripts and servers; managing them needs a session JWT',
  service: 'Health, the keys that verify access tokens, and this contract',
} as const;

/**
 * Marks an operation of a browser's, not a program's (the confirmation link, and its page's
 * button): it answers a page or a redirect whatever happens, so it gets none of the JSON error
 * answers every other operation has. Kept in the document, so a reader and a generator can tell
 * it from an API operation.
 */
export const BROWSER_LINK_EXTENSION = 'x-browser-link';

/** The server the committed `openapi.yaml` names: where `npm start` listens with no configuration. */
export const DEFAULT_PUBLIC_URL = 'http://localhost:3000';

/** Where the service serves its own contract (see app.factory.ts), linked from the document's description. */
export const DOCUMENT_URLS = { yaml: '/openapi.yaml', json: '/reference/openapi.json' } as const;

/**
 * What the service answers before or around any handler, so every operation gives it whether or
 * not its controller thought to say so: oversized request heads are refused for any route (the
 * client error handler in app.factory.ts), every operation can fail unexpectedly or find the
 * database unreachable, and Fastify parses (and refuses) a non-empty body sent to any POST, PUT,
 * PATCH or DELETE route, whether the operation reads one or not.
 */
const HEAD_ERROR_RESPONSES = {
  '413': 'PAYLOAD_TOO_LARGE: the request headers are over the size limit',
} as const;
const REQUEST_ERROR_RESPONSES = {
  ...HEAD_ERROR_RESPONSES,
  '500': 'INTERNAL_ERROR: an unexpected failure; the body carries no internals, quote `request_id` when reporting it',
  '503': 'SERVER_BUSY: the database or another dependency is unavailable; retry after `Retry-After` seconds',
} as const;
const BODY_ERROR_RESPONSES = {
  ...REQUEST_ERROR_RESPONSES,
  '400': 'INVALID_REQUEST: the body is not valid JSON or fails validation (`errors` names the fields)',
  '413': 'PAYLOAD_TOO_LARGE: the request body or headers are over the size limit',
  '415': 'UNSUPPORTED_MEDIA_TYPE: the body is not empty and not application/json',
} as const;
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/** Response headers, declared once under `components.headers` and referenced by the responses that carry them. */
const HEADERS = {
  'X-Request-Id': {
    description: "The request's id: the caller's own `X-Request-Id` when it is 1 to 128 characters of letters, digits and `_.:-`, else a new one. Error bodies repeat it as `request_id`.",
    required: true,
    schema: { type: 'string', example: '3f6c1e2a-9b4d-8e71-a0c5-00000000002a' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 0, example: 1 } },
  'RateLimit-Limit': { description: 'Requests allowed in the window of the tightest limit this request counted against', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Remaining': { description: 'Requests left in that window', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Reset': { description: 'Seconds until that window resets', schema: { type: 'integer', minimum: 0 } },
} as const;
const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] as const;

/** What each code's example body says: the service's own messages, so the examples show real answers. */
const EXAMPLE_MESSAGES: Record<ErrorCode, string> = {
  INVALID_REQUEST: 'Invalid request: email must be an email',
  MISSING_AUTH: 'Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>',
  INVALID_OR_EXPIRED_TOKEN: 'Invalid or expired token',
  INVALID_CREDENTIALS: 'Invalid email or password',
  INVALID_CLIENT: 'Introspection needs the HTTP Basic credentials of a client in INTROSPECTION_CLIENTS',
  EMAIL_NOT_VERIFIED: 'Confirm your email address before logging in',
  JWT_REQUIRED: 'This operation requires a session access token (JWT); API keys cannot call it',
  INSUFFICIENT_SCOPE: 'This API key is limited to scopes without "write", which this operation needs',
  NOT_FOUND: 'API key not found',
  PAYLOAD_TOO_LARGE: 'Request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Content-Type must be application/json',
  RATE_LIMITED: 'Too many requests, retry in 42 s',
  INTERNAL_ERROR: 'Internal server error',
  SERVER_BUSY: 'The service is temporarily unavailable, please retry',
};
const EXAMPLE_REQUEST_ID = HEADERS['X-Request-Id'].schema.example;

/** Builds the OpenAPI document from the controllers' decorators; no database needed. */
export function buildOpenApiDocument(app: INestApplication, publicUrl: string = DEFAULT_PUBLIC_URL): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Atiru Auth')
    .setDescription(
      'Sign-up, email confirmation, sessions and API keys for the Atiru API.\n\n' +
        'Send a session access token (JWT) or an API key as `Authorization: Bearer <credential>`, or an API key as ' +
        '`X-Api-Key: <key>`. Operations that manage API keys or sessions take a JWT only. An API key limited to scopes may call an ' +
        'operation only if it holds every scope the operation\'s `' + API_KEY_SCOPES_EXTENSION + '` names (else 403 INSUFFICIENT_SCOPE).\n\n' +
        'Every error answers `{ error, statusCode, code, request_id }`: `code` is what a program acts on (each status ' +
        'documents the codes it can carry), `error` is for people, and `request_id` repeats the `X-Request-Id` header that ' +
        'every response carries (send your own `X-Request-Id` to have it used instead). A validation error also lists ' +
        '`errors: [{ field, code, message }]`. 503 SERVER_BUSY and 429 RATE_LIMITED carry `Retry-After` (seconds).\n\n' +
        `This contract: [openapi.yaml](${DOCUMENT_URLS.yaml}), [openapi.json](${DOCUMENT_URLS.json}).`,
    )
    .setVersion('1.0.0')
    .setLicense('Proprietary', 'https://atiru.dev/terms')
    .addServer(publicUrl.replace(/\/+$/, ''), 'This service')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Session access token (JWT): the `access_token` from POST /auth/login or POST /auth/refresh' },
      SECURITY_SCHEMES.jwt,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'atiru_ API key', description: 'API key (`atiru_…`, from POST /auth/api-keys) sent as `Authorization: Bearer <key>`' },
      SECURITY_SCHEMES.bearerApiKey,
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'API key (`atiru_…`, from POST /auth/api-keys) sent as `X-Api-Key: <key>`' }, SECURITY_SCHEMES.headerApiKey)
    .addBasicAuth(
      { type: 'http', scheme: 'basic', description: "Another Atiru service's client id and secret, from INTROSPECTION_CLIENTS: token introspection only" },
      SECURITY_SCHEMES.introspectionClient,
    );
  for (const [name, description] of Object.entries(API_TAGS)) builder.addTag(name, description);
  const config = builder.build();
  // The builder starts from an empty contact object, which says nothing and trips linters.
  delete config.info.contact;

  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
    extraModels: [ErrorResponseDto, FieldErrorDto],
  });
  document.components = { ...document.components, headers: HEADERS };
  const requestSchemas = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, any][]) {
      if (!operation?.responses) continue;
      if (operation[PUBLIC_OPERATION_MARKER]) {
        delete operation[PUBLIC_OPERATION_MARKER];
        operation.security = [];
      } else if (!operation.security) {
        throw new Error(`${method.toUpperCase()} ${path} declares no auth policy: add @Public() or @Authenticated()`);
      } else if (operation.security.some((requirement: Record<string, unknown>) => SECURITY_SCHEMES.headerApiKey in requirement)) {
        // What the guard asks of a key limited to scopes when the route declares nothing.
        operation[API_KEY_SCOPES_EXTENSION] ??= [...defaultScopes(method)];
      }
      const defaults = operation[BROWSER_LINK_EXTENSION]
        ? HEAD_ERROR_RESPONSES
        : operation.requestBody || BODY_METHODS.has(method)
          ? BODY_ERROR_RESPONSES
          : REQUEST_ERROR_RESPONSES;
      completeResponses(operation, defaults);
      const requestSchema = operation.requestBody?.content?.['application/json']?.schema?.$ref;
      if (typeof requestSchema === 'string') requestSchemas.add(requestSchema.replace('#/components/schemas/', ''));
    }
  }
  // The validation pipe refuses fields a request DTO does not declare; say so, so clients and mocks do too.
  for (const name of requestSchemas) {
    const schema = document.components.schemas?.[name] as Record<string, unknown> | undefined;
    if (schema) schema.additionalProperties = false;
  }
  return document;
}

interface Operation {
  responses: Record<string, any>;
}

/**
 * Adds the answers the service gives around the handler, narrows each error response to the codes
 * its status can carry (those its description names, or else every code of the status) with an
 * example per code, and documents the headers each response carries.
 */
function completeResponses(operation: Operation, defaults: Record<string, string>): void {
  for (const [status, description] of Object.entries(defaults)) operation.responses[status] ??= { description };
  const rateLimited = operation.responses['429'] !== undefined;
  for (const [status, response] of Object.entries(operation.responses)) {
    const code = Number(status);
    if (code >= 400) response.content = errorContent(code, response.description ?? '');
    response.headers = {
      ...response.headers,
      'X-Request-Id': headerRef('X-Request-Id'),
      ...(code === 429 || code === 503 ? { 'Retry-After': headerRef('Retry-After') } : {}),
      ...(rateLimited ? Object.fromEntries(RATE_LIMIT_HEADERS.map((name) => [name, headerRef(name)])) : {}),
    };
  }
  operation.responses = Object.fromEntries(Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)));
}

function headerRef(name: keyof typeof HEADERS): { $ref: string } {
  return { $ref: `#/components/headers/${name}` };
}

/** The codes an error response's description names, of those its status can carry; all of them when it names none. */
export function errorCodesFor(status: number, description: string): ErrorCode[] {
  const possible = codesOfStatus(status);
  if (possible.length === 0) throw new Error(`HTTP ${status} has no error code in the contract (src/common/errors/error-codes.ts)`);
  const named = possible.filter((code) => new RegExp(`\\b${code}\\b`).test(description));
  return named.length > 0 ? named : possible;
}

function errorContent(status: number, description: string): Record<string, unknown> {
  const codes = errorCodesFor(status, description);
  const examples = Object.fromEntries(codes.map((code) => [code, { summary: code, value: exampleBody(status, code) }]));
  return {
    'application/json': {
      schema: {
        allOf: [
          { $ref: getSchemaPath(ErrorResponseDto) },
          { type: 'object', properties: { statusCode: { type: 'integer', enum: [status] }, code: { type: 'string', enum: codes } } },
        ],
      },
      examples,
    },
  };
}

function exampleBody(status: number, code: ErrorCode): ErrorBody {
  const body: ErrorBody = { error: EXAMPLE_MESSAGES[code], statusCode: status, code, request_id: EXAMPLE_REQUEST_ID };
  if (code === 'INVALID_REQUEST') body.errors = [{ field: 'email', code: 'isEmail', message: 'email must be an email' }];
  return body;
}

/**
 * YAML with every timestamp-like string quoted: YAML 1.1 readers (PyYAML, SnakeYAML, js-yaml's
 * defaults) would otherwise read `2024-01-15T12:00:00.000Z` as a date rather than the string it is.
 */
export function toYaml(document: OpenAPIObject): string {
  const yaml = new YamlDocument(document, { aliasDuplicateObjects: false });
  visit(yaml, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return yaml.toString({ lineWidth: 0 });
}


/**
 * Runs in the browser, from Swagger UI's init script (so it may use nothing of this module): removes
 * the credentials earlier versions of /docs persisted. Storage a browser refuses (some private modes
 * throw on any access) holds nothing to remove.
 */
function forgetPersistedAuthorization(): void {
  try {
    (globalThis as { localStorage?: { removeItem(key: string): void } }).localStorage?.removeItem('authorized');
  } catch {
    // Nothing stored, nothing to remove.
  }
}

/** Where Swagger UI lives. */
export const DOCS_PATH = '/docs';

/** A plain "A" mark, so the tab shows whose page this is rather than the Swagger logo. */
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='6' fill='%23123b5c'/%3E" +
  "%3Ctext x='16' y='23' font-family='sans-serif' font-size='20' font-weight='bold' text-anchor='middle' fill='white'%3EA%3C/text%3E%3C/svg%3E";

/**
 * Serves the contract: Swagger UI at /docs, the document as YAML and JSON. The documents name
 * PUBLIC_URL as the server, for clients generated from them. Swagger UI's copy names the page's own
 * origin instead (a relative URL), so "Try it out" calls whatever host name the page was opened
 * with, over the same scheme, and stays within the page's `connect-src 'self'`.
 */
export function serveApiDocs(app: INestApplication, document: OpenAPIObject): void {
  const pageDocument: OpenAPIObject = { ...document, servers: [{ url: '/', description: 'This service, where this page came from' }] };
  SwaggerModule.setup(DOCS_PATH.slice(1), app, document, {
    jsonDocumentUrl: DOCUMENT_URLS.json.slice(1),
    yamlDocumentUrl: DOCUMENT_URLS.yaml.slice(1),
    patchDocumentOnRequest: (request) => ((request as { url?: string }).url?.startsWith(`${DOCS_PATH}/`) ? pageDocument : document),
    // Credentials pasted into "Authorize" stay in the page's memory: persisted, they would sit in
    // localStorage on the dashboard's origin, through sign-outs and browser restarts. Earlier
    // versions of this page did persist them (Swagger UI's `authorized` entry), and nothing else
    // ever removes what they stored: the page removes it once Swagger UI has started. The function
    // is written into swagger-ui-init.js, a script of this origin, so the page's policy (no inline
    // script) still holds.
    swaggerOptions: { displayRequestDuration: true, onComplete: forgetPersistedAuthorization },
    customSiteTitle: 'Atiru Auth API',
    customfavIcon: FAVICON,
    // Swagger's own banner (logo and a box to load any other document) says nothing about Atiru.
    customCss: '.swagger-ui .topbar { display: none }',
  });
}
