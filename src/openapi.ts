import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { stringify } from 'yaml';
import { PUBLIC_OPERATION_MARKER, SECURITY_SCHEMES } from './common/auth/auth-policy.decorator';

/** Builds the OpenAPI document from the controllers' decorators; no database needed. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Atiru Auth')
    .setDescription(
      'Sign-up, email confirmation, sessions and API keys for the Atiru API. Every error answers ' +
        '`{ error, statusCode, code }`. Send a session access token (JWT) or an API key as ' +
        '`Authorization: Bearer <credential>`, or an API key as `X-Api-Key: <key>`.',
    )
    .setVersion('1.0.0')
    .setLicense('Proprietary', 'https://atiru.dev/terms')
    .addServer('/')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A session access token from POST /auth/login' }, SECURITY_SCHEMES.jwt)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'atiru_ API key', description: 'An API key sent as `Authorization: Bearer atiru_…`' }, SECURITY_SCHEMES.bearerApiKey)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key sent as `X-Api-Key: atiru_…`' }, SECURITY_SCHEMES.headerApiKey)
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, any][]) {
      if (operation?.[PUBLIC_OPERATION_MARKER]) {
        delete operation[PUBLIC_OPERATION_MARKER];
        operation.security = [];
      } else if (operation && !operation.security) {
        throw new Error(`${method.toUpperCase()} ${path} declares no auth policy: add @Public() or @Authenticated()`);
      }
    }
  }
  return document;
}

export function toYaml(document: OpenAPIObject): string {
  return stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}
