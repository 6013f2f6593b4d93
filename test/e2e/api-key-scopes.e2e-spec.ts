import { Controller, Delete, Get, HttpCode, Module, Post } from '@nestjs/common';
import { Authenticated } from '../../src/common/auth/auth-policy.decorator';
import { signedInUser, SignedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp } from '../support/test-app';

/** Routes that accept API keys and declare nothing but the policy, so the default scopes apply; and one that declares its own. */
@Controller('probe')
class ScopedProbeController {
  @Get('read')
  @Authenticated()
  read() {
    return { ok: true };
  }

  @Post('write')
  @HttpCode(200)
  @Authenticated()
  write() {
    return { ok: true };
  }

  @Delete('deploy')
  @HttpCode(200)
  @Authenticated({ scopes: ['deploy', 'write'] })
  deploy() {
    return { ok: true };
  }
}

@Module({ controllers: [ScopedProbeController] })
class ScopedProbeModule {}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const xApiKey = (key: string) => ({ 'x-api-key': key });

describe('API key scopes (real app, real PostgreSQL)', () => {
  let service: TestApp;
  let ada: SignedInUser;

  beforeAll(async () => {
    service = await startTestApp({
      env: { API_KEY_SCOPES: 'read,write,deploy', RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' },
      extraModules: [ScopedProbeModule],
      undocumentedPaths: ['/probe'],
    });
    ada = await signedInUser(service.app, 'ada@example.com');
  });

  afterAll(async () => {
    await service?.close();
  });

  async function newKey(body: Record<string, unknown>): Promise<{ id: string; key: string; scopes: string[] | null }> {
    const response = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body });
    expect(response.status).toBe(201);
    return response.body;
  }

  /** What each route answers a credential: its status, and the code of a refusal. */
  async function answers(headers: Record<string, string>): Promise<Record<string, string>> {
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/users/me', undefined],
      ['GET', '/probe/read', undefined],
      ['POST', '/probe/write', undefined],
      ['DELETE', '/probe/deploy', undefined],
      ['POST', '/auth/api-keys', {}],
      ['GET', '/auth/api-keys', undefined],
    ];
    const seen: Record<string, string> = {};
    for (const [method, path, body] of calls) {
      const response = await service.request(method, path, { headers, body });
      seen[`${method} ${path}`] = response.status < 400 ? String(response.status) : `${response.status} ${response.body.code}`;
    }
    return seen;
  }

  it('lets a read-only key read (GET /users/me) but not write (POST /auth/api-keys: 403 INSUFFICIENT_SCOPE), with either header', async () => {
    const readOnly = await newKey({ name: 'CDN downloader', scopes: ['read'] });
    expect(readOnly.scopes).toEqual(['read']);
    for (const headers of [bearer(readOnly.key), xApiKey(readOnly.key)]) {
      expect(await answers(headers)).toEqual({
        'GET /users/me': '200',
        'GET /probe/read': '200',
        'POST /probe/write': '403 INSUFFICIENT_SCOPE',
        'DELETE /probe/deploy': '403 INSUFFICIENT_SCOPE',
        'POST /auth/api-keys': '403 INSUFFICIENT_SCOPE',
        // It holds read, but keys are never allowed to manage keys.
        'GET /auth/api-keys': '403 JWT_REQUIRED',
      });
    }
    const refused = await service.request('POST', '/auth/api-keys', { headers: bearer(readOnly.key), body: {} });
    expect(refused.body).toEqual({
      statusCode: 403,
      code: 'INSUFFICIENT_SCOPE',
      error: 'This API key is limited to scopes without "write", which this operation needs',
      request_id: refused.headers.get('x-request-id'),
    });
    expect(service.logs.entries().some((line) => line.code === 'INSUFFICIENT_SCOPE' && line.reason === 'API key without scope write')).toBe(true);
  });

  it('holds a write-only key to writing, lets a key with every scope do what one without scopes does, and leaves JWTs as they were', async () => {
    const writeOnly = await newKey({ scopes: ['write'] });
    expect(await answers(xApiKey(writeOnly.key))).toEqual({
      'GET /users/me': '403 INSUFFICIENT_SCOPE',
      'GET /probe/read': '403 INSUFFICIENT_SCOPE',
      'POST /probe/write': '200',
      'DELETE /probe/deploy': '403 INSUFFICIENT_SCOPE',
      'POST /auth/api-keys': '403 JWT_REQUIRED',
      'GET /auth/api-keys': '403 INSUFFICIENT_SCOPE',
    });
    const everything = { 'GET /users/me': '200', 'GET /probe/read': '200', 'POST /probe/write': '200', 'DELETE /probe/deploy': '200', 'POST /auth/api-keys': '403 JWT_REQUIRED', 'GET /auth/api-keys': '403 JWT_REQUIRED' };
    const allScopes = await newKey({ scopes: ['deploy', 'write', 'read'] });
    // Stored and shown in the vocabulary's order.
    expect(allScopes.scopes).toEqual(['read', 'write', 'deploy']);
    expect(await answers(xApiKey(allScopes.key))).toEqual(everything);
    const unscoped = await newKey({});
    expect(unscoped.scopes).toBeNull();
    expect(await answers(xApiKey(unscoped.key))).toEqual(everything);
    expect(await answers(ada.jwt)).toEqual({ ...everything, 'POST /auth/api-keys': '201', 'GET /auth/api-keys': '200' });
  });

  it('lists each key with its scopes', async () => {
    const user = await signedInUser(service.app, 'lister@example.com');
    const created = await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { scopes: ['read', 'read'] } });
    expect(created.body.scopes).toEqual(['read']);
    await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { scopes: null } });
    const list = await service.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(list.body.api_keys.map((key: { scopes: string[] | null }) => key.scopes)).toEqual([null, ['read']]);
  });

  it('refuses a scope outside the configured vocabulary, and an empty or malformed list, with 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [['read', 'admin'], /scopes must be taken from: read, write, deploy \(unknown: admin\)/],
      [[], /at least one scope/],
      [['READ'], /scope name/],
      [['read', 7], /scopes/],
      ['read', /scopes/],
    ];
    for (const [scopes, message] of cases) {
      const response = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: { scopes } });
      expect({ scopes, status: response.status, code: response.body.code, field: response.body.errors?.[0]?.field }).toEqual({ scopes, status: 400, code: 'INVALID_REQUEST', field: 'scopes' });
      expect(response.body.error).toMatch(message);
    }
  });
});
