import { EntityManager } from '@mikro-orm/postgresql';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsEmail, IsInt, IsString, Max, MinLength } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Public } from '../../src/common/auth/auth-policy.decorator';
import { migrationsList } from '../../src/database/migrations';
import { sql } from '../support/accounts';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

class ProbeDto {
  @IsEmail()
  email: string;

  @IsString()
  @MinLength(6)
  password: string;

  @IsInt()
  @Max(10)
  count: number;
}

/** Probe routes mounted behind the real pipe and filter, to drive each failure class. */
@Controller('probe')
class ProbeController {
  constructor(private readonly em: EntityManager) {}

  @Post()
  @Public()
  accept(@Body() body: ProbeDto) {
    return { ok: true, count: body.count };
  }

  @Get('boom')
  @Public()
  boom(): never {
    throw new Error('secret internals: SELECT * FROM users WHERE password_hash = 42');
  }

  @Get('db')
  @Public()
  async db() {
    const [row] = await this.em.fork().getConnection().execute('SELECT 1 AS one');
    return row;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('foundation (real app, real PostgreSQL)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), extraModules: [ProbeModule], undocumentedPaths: ['/probe'] });
  });

  afterAll(async () => {
    proxy.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  it('applies every migration to an empty database at start', async () => {
    const applied = await sql<{ name: string }>(service, 'SELECT name FROM mikro_orm_migrations ORDER BY id');
    expect(applied.map((row) => row.name)).toEqual(migrationsList.map((migration) => migration.name));
    const [users] = await sql(service, `SELECT to_regclass('public.users') AS name`);
    expect(users.name).toBe('users');
  });

  it('answers /health with the database status', async () => {
    const response = await service.request('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', database: 'up' });
  });

  it('names every invalid field in a 400', async () => {
    const response = await service.request('POST', '/probe', { body: { email: 'nope', password: '123', count: 'x' } });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      statusCode: 400,
      request_id: response.headers.get('x-request-id'),
      code: 'INVALID_REQUEST',
      error: 'Invalid request: email must be an email; password must be longer than or equal to 6 characters; count must not be greater than 10',
      errors: [
        { field: 'email', code: 'isEmail', message: 'email must be an email' },
        { field: 'password', code: 'minLength', message: 'password must be longer than or equal to 6 characters' },
        { field: 'count', code: 'max', message: 'count must not be greater than 10' },
      ],
    });
    expect(response.body.error).toMatch(/count/);
  });

  it('rejects unknown body fields instead of ignoring them', async () => {
    const response = await service.request('POST', '/probe', { body: { email: 'a@b.co', password: '123456', count: 1, admin: true } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_REQUEST', error: expect.stringMatching(/admin/) });
  });

  it('passes a valid body through', async () => {
    const response = await service.request('POST', '/probe', { body: { email: 'a@b.co', password: '123456', count: 3 } });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ ok: true, count: 3 });
  });

  it('answers malformed JSON with 400 INVALID_REQUEST', async () => {
    const response = await service.request('POST', '/probe', { raw: '{"email": ', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ statusCode: 400, request_id: expect.any(String), code: 'INVALID_REQUEST', error: expect.any(String) });
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const response = await service.request('GET', '/no/such/route', { contract: false });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ statusCode: 404, request_id: expect.any(String), code: 'NOT_FOUND', error: expect.stringContaining('/no/such/route') });
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const huge = JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(service.config.http.bodyLimitBytes + 10), count: 1 });
    const response = await service.request('POST', '/probe', { raw: huge, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ statusCode: 413, request_id: expect.any(String), code: 'PAYLOAD_TOO_LARGE', error: expect.any(String) });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('answers a %s body with 415', async (type) => {
    const response = await service.request('POST', '/probe', { raw: 'email=a@b.co', headers: { 'content-type': type } });
    expect(response.status).toBe(415);
    expect(response.body).toEqual({ statusCode: 415, request_id: expect.any(String), code: 'UNSUPPORTED_MEDIA_TYPE', error: expect.any(String) });
  });

  it('answers an unexpected failure with 500 and no internals, and logs it whole', async () => {
    const response = await service.request('GET', '/probe/boom', { headers: { 'x-request-id': 'req-boom-1' } });
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ statusCode: 500, request_id: expect.any(String), code: 'INTERNAL_ERROR', error: 'Internal server error' });
    expect(response.text).not.toMatch(/SELECT|secret|at .*\.ts/);
    const logged = service.logs.entries().find((entry) => entry.request_id === 'req-boom-1' && entry.level === 50);
    expect(logged?.err?.message).toContain('secret internals');
    expect(logged?.err?.stack).toContain('boom');
  });

  it('returns the caller X-Request-Id, or a fresh one', async () => {
    const given = await service.request('GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const fresh = await service.request('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 503 SERVER_BUSY while the database is unreachable, and recovers', async () => {
    proxy.cut();
    try {
      const health = await service.request('GET', '/health');
      expect(health.status).toBe(503);
      expect(health.body).toEqual({ statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) });
      const query = await service.request('GET', '/probe/db');
      expect(query.status).toBe(503);
      expect(query.body).toEqual({ statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) });
    } finally {
      proxy.restore();
    }
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await service.request('GET', '/health')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    expect((await service.request('GET', '/probe/db')).body).toEqual({ one: 1 });
  });
});

describe('the published OpenAPI document', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp();
  });

  afterAll(async () => {
    await service?.close();
  });

  const committed = () => parse(readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8'));

  it('serves /reference/openapi.json and /openapi.yaml equal to the committed openapi.yaml, naming its PUBLIC_URL as the server', async () => {
    const served = { ...committed(), servers: [{ url: service.config.http.publicUrl, description: 'This service' }] };
    expect(committed().servers).toEqual([{ url: 'http://localhost:3000', description: 'This service' }]);
    const json = await service.request('GET', '/reference/openapi.json');
    expect(json.status).toBe(200);
    expect(json.body).toEqual(served);
    const yaml = await service.request('GET', '/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(parse(yaml.text)).toEqual(served);
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await service.request('GET', '/docs');
    expect(response.status).toBe(200);
    expect(response.text).toContain('swagger-ui');
  });
});
