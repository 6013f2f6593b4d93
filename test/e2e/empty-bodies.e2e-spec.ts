import { signedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp } from '../support/test-app';
import { uniqueEmail } from '../support/accounts';

/** What common clients send on an operation that takes no body: a Content-Type with nothing after it. */
const EMPTY_BODIES: Array<[string, Record<string, string>]> = [
  ['Content-Type: application/json (fetch wrappers, axios defaults)', { 'content-type': 'application/json' }],
  ['Content-Type: application/json; charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }],
  ["curl -d '' (form-urlencoded)", { 'content-type': 'application/x-www-form-urlencoded' }],
  ['Content-Type: text/plain', { 'content-type': 'text/plain' }],
];

describe('operations without a request body, sent an empty one', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp();
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each(EMPTY_BODIES)('POST /auth/logout accepts %s and logs out', async (_what, headers) => {
    const { jwt } = await signedInUser(service.app, uniqueEmail('empty-logout'));
    const response = await service.request('POST', '/auth/logout', { raw: '', headers: { ...jwt, ...headers } });
    expect({ status: response.status, text: response.text }).toEqual({ status: 204, text: '' });
  });

  it.each(EMPTY_BODIES)('DELETE /auth/api-keys/{id} accepts %s and revokes the key', async (_what, headers) => {
    const { jwt } = await signedInUser(service.app, uniqueEmail('empty-delete'));
    const created = await service.request('POST', '/auth/api-keys', { body: { name: 'to revoke' }, headers: jwt });
    const response = await service.request('DELETE', `/auth/api-keys/${created.body.id}`, { raw: '', headers: { ...jwt, ...headers } });
    expect({ status: response.status, text: response.text }).toEqual({ status: 204, text: '' });
    const listed = await service.request('GET', '/auth/api-keys', { headers: jwt });
    expect(listed.body.api_keys).toEqual([]);
  });

  it('still refuses a body that is not JSON with 415, and an empty body where one is needed with a 400 that says so', async () => {
    const { jwt } = await signedInUser(service.app, uniqueEmail('empty-refused'));
    const form = await service.request('POST', '/auth/logout', { raw: 'scope=global', headers: { ...jwt, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body).toEqual({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', error: 'Content-Type must be application/json', request_id: form.headers.get('x-request-id') });
    const malformed = await service.request('POST', '/auth/logout', { raw: '{"scope":', headers: { ...jwt, 'content-type': 'application/json' } });
    expect(malformed.body).toEqual({ statusCode: 400, code: 'INVALID_REQUEST', error: 'Invalid request: the body is not valid JSON', request_id: malformed.headers.get('x-request-id') });
    for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
      const login = await service.request('POST', '/auth/login', { raw: '', headers });
      expect(login.status).toBe(400);
      expect(login.body).toEqual({ statusCode: 400, code: 'INVALID_REQUEST', error: 'Invalid request: the body must be a JSON object', request_id: login.headers.get('x-request-id') });
    }
  });
});
