import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { createApp } from '../../src/app.factory';
import { Authenticated, Public } from '../../src/common/auth/auth-policy.decorator';
import { ErrorResponseDto } from '../../src/common/errors/error-response.dto';
import { loadConfig } from '../../src/config/app-config';
import { buildOpenApiDocument, errorCodesFor } from '../../src/openapi';

class NoteCreateDto {
  @ApiProperty({ example: 'hello' })
  @IsString()
  text: string;
}

@ApiTags('service')
@Controller('notes')
class NotesController {
  @Post()
  @Public()
  @ApiOperation({ summary: 'Create a note', description: 'Test-only.' })
  @ApiCreatedResponse({ description: 'Created' })
  @ApiResponse({ status: 400, description: 'INVALID_REQUEST: the text is missing', type: ErrorResponseDto })
  createNote(@Body() body: NoteCreateDto) {
    return body;
  }

  @Post('archive')
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Archive the notes', description: 'Test-only.' })
  @ApiNoContentResponse({ description: 'Archived' })
  archiveNotes() {
    return undefined;
  }

  @Get('mine')
  @Authenticated({ jwtOnly: true })
  @ApiOperation({ summary: 'My notes', description: 'Test-only.' })
  @ApiOkResponse({ description: 'The notes' })
  listMyNotes() {
    return [];
  }

  @Get()
  @Public()
  @ApiOperation({ summary: 'List notes', description: 'Test-only.' })
  @ApiOkResponse({ description: 'The notes' })
  listNotes() {
    return [];
  }
}

@Module({ controllers: [NotesController] })
class NotesModule {}

@Controller('unguarded')
class UnguardedController {
  @Get()
  forgotten() {
    return {};
  }
}

@Module({ controllers: [UnguardedController] })
class UnguardedModule {}

async function documentWith(module: any) {
  const app = await createApp(loadConfig({ NODE_ENV: 'test' }), { preview: true, extraModules: [module] });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

describe('buildOpenApiDocument', () => {
  it('documents the errors the pipe, filter and parser give any body-reading operation, keeping what the controller said', async () => {
    const operation = (await documentWith(NotesModule)).paths['/notes'].post!;
    expect(Object.keys(operation.responses)).toEqual(['201', '400', '413', '415', '500', '503']);
    expect(operation.responses['400']).toMatchObject({ description: 'INVALID_REQUEST: the text is missing' });
    expect(operation.responses['415']).toEqual({
      description: expect.stringMatching(/^UNSUPPORTED_MEDIA_TYPE/),
      headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } },
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              { type: 'object', properties: { statusCode: { type: 'integer', enum: [415] }, code: { type: 'string', enum: ['UNSUPPORTED_MEDIA_TYPE'] } } },
            ],
          },
          examples: {
            UNSUPPORTED_MEDIA_TYPE: {
              summary: 'UNSUPPORTED_MEDIA_TYPE',
              value: { error: expect.any(String), statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', request_id: expect.any(String) },
            },
          },
        },
      },
    });
    expect((operation.responses['503'] as any).headers).toEqual({
      'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' },
      'Retry-After': { $ref: '#/components/headers/Retry-After' },
    });
    expect(operation.security).toEqual([]);
  });

  it('documents the body errors for a POST that reads no body, since the parser answers them anyway', async () => {
    const operation = (await documentWith(NotesModule)).paths['/notes/archive'].post!;
    expect(Object.keys(operation.responses)).toEqual(['204', '400', '413', '415', '500', '503']);
  });

  it('documents the 413 any operation gives for oversized request headers', async () => {
    const operation = (await documentWith(NotesModule)).paths['/notes'].get!;
    expect(Object.keys(operation.responses)).toEqual(['200', '413', '500', '503']);
    expect(operation.responses['413']).toMatchObject({ description: expect.stringMatching(/^PAYLOAD_TOO_LARGE: the request headers/) });
  });

  it('documents what the guard answers on a protected operation, and only the JWT scheme on a JWT-only one', async () => {
    const operation = (await documentWith(NotesModule)).paths['/notes/mine'].get!;
    expect(Object.keys(operation.responses)).toEqual(['200', '401', '403', '413', '429', '500', '503']);
    expect((operation.responses['429'] as any).headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' });
    const codes = (status: string) => (operation.responses[status] as any).content['application/json'].schema.allOf[1].properties.code.enum;
    expect(codes('401')).toEqual(['MISSING_AUTH', 'INVALID_OR_EXPIRED_TOKEN']);
    // A key limited to scopes hears INSUFFICIENT_SCOPE first, when it lacks the one the method needs.
    expect(codes('403')).toEqual(['JWT_REQUIRED', 'INSUFFICIENT_SCOPE']);
    expect(codes('429')).toEqual(['RATE_LIMITED']);
    expect(operation.security).toEqual([{ jwt: [] }]);
  });

  it('declares one described tag per module and no empty contact', async () => {
    const document = await documentWith(NotesModule);
    expect(document.tags?.map((tag) => tag.name)).toEqual(['auth', 'users', 'api-keys', 'service']);
    expect(document.tags?.every((tag) => (tag.description ?? '').length > 0)).toBe(true);
    expect(document.info.contact).toBeUndefined();
  });

  it('names every code of a status whose description names none, and no code of another status', async () => {
    expect(errorCodesFor(401, 'the credential is refused')).toEqual(['MISSING_AUTH', 'INVALID_OR_EXPIRED_TOKEN', 'INVALID_CREDENTIALS', 'INVALID_CLIENT']);
    expect(errorCodesFor(401, 'INVALID_CREDENTIALS: wrong password; never JWT_REQUIRED')).toEqual(['INVALID_CREDENTIALS']);
    expect(() => errorCodesFor(418, 'a teapot')).toThrow(/HTTP 418 has no error code/);
  });

  it('closes the request body schemas, as the validation pipe refuses unknown fields, and names the server given', async () => {
    const app = await createApp(loadConfig({ NODE_ENV: 'test' }), { preview: true, extraModules: [NotesModule] });
    try {
      const document = buildOpenApiDocument(app, 'https://auth.atiru.test/');
      expect(document.servers).toEqual([{ url: 'https://auth.atiru.test', description: 'This service' }]);
      expect(document.components?.schemas?.NoteCreateDto).toMatchObject({ additionalProperties: false });
    } finally {
      await app.close();
    }
  });

  it('refuses a route that declares no auth policy', async () => {
    await expect(documentWith(UnguardedModule)).rejects.toThrow('GET /unguarded declares no auth policy');
  });
});
