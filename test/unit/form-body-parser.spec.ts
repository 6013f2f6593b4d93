import Fastify, { FastifyInstance } from 'fastify';
import { ACCEPTS_FORM, acceptJsonOrEmptyBodies } from '../../src/common/http/body-parsers';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * The body parsers on a bare Fastify: a route marked ACCEPTS_FORM answers the body it was given
 * (with whether it is a plain object), another route takes JSON only. Errors answer their status
 * and code, as the app's filter would.
 */
async function server(): Promise<FastifyInstance> {
  const fastify = Fastify({ bodyLimit: 256 });
  acceptJsonOrEmptyBodies(fastify);
  fastify.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    void reply.status(error.statusCode ?? 500).send({ code: error.code });
  });
  const echo = async (request: { body: unknown }) => ({
    body: request.body ?? null,
    plain: request.body !== undefined && Object.getPrototypeOf(request.body) === Object.prototype,
  });
  fastify.post('/form', { config: ACCEPTS_FORM }, echo);
  fastify.post('/json', echo);
  await fastify.ready();
  return fastify;
}

describe('form bodies (application/x-www-form-urlencoded), on the routes marked ACCEPTS_FORM', () => {
  let fastify: FastifyInstance;

  beforeAll(async () => {
    fastify = await server();
  });

  afterAll(() => fastify.close());

  async function post(payload: string, headers: Record<string, string> = FORM, url = '/form') {
    const response = await fastify.inject({ method: 'POST', url, headers, payload });
    return { status: response.statusCode, ...response.json() };
  }

  it('reads fields as a plain object, taking values without `%` or `+` as they are', async () => {
    expect(await post('token=atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe&token_type_hint=api_key')).toEqual({
      status: 200,
      body: { token: 'atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe', token_type_hint: 'api_key' },
      plain: true,
    });
    // Empty pairs are skipped; a name without `=` has an empty value; so has `token=`.
    expect((await post('&&token=a.b.c&&flag&empty=&')).body).toEqual({ token: 'a.b.c', flag: '', empty: '' });
  });

  it('decodes percent-escapes as UTF-8 and `+` as a space, in names and values', async () => {
    expect((await post('token=%61%74iru%5F%2B%25&t%C3%A9st=caf%C3%A9+au+lait&a+b=%20')).body).toEqual({
      token: 'atiru_+%',
      'tést': 'café au lait',
      'a b': ' ',
    });
  });

  it('refuses a field named twice, a broken escape and bytes that are not UTF-8: 400 INVALID_REQUEST', async () => {
    for (const payload of ['token=a&token=b', 'token=a&token=a', 'token=a&token', 'token=%zz', 'token=a%', 'token=%C3', 'to%ken=a', 'token=%FF']) {
      expect({ payload, ...(await post(payload)) }).toEqual({ payload, status: 400, code: 'INVALID_REQUEST' });
    }
    // The same name spelled two ways is still one name.
    expect((await post('token=a&%74oken=b')).status).toBe(400);
  });

  it('keeps `__proto__` an ordinary field: the object keeps its prototype and the field is listed', async () => {
    const answer = await post('token=x&__proto__=y');
    expect(answer).toEqual({ status: 200, body: JSON.parse('{"token":"x","__proto__":"y"}'), plain: true });
    expect(Object.keys(answer.body)).toEqual(['token', '__proto__']);
    expect((await post('__proto__=a&__proto__=b')).status).toBe(400);
  });

  it('reads an empty form as no body', async () => {
    expect(await post('')).toEqual({ status: 200, body: null, plain: false });
  });

  it('holds forms to the body limit: 413', async () => {
    expect(await post(`token=${'t'.repeat(251)}`)).toEqual({ status: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  });

  it('is a 415 on any other route, and any other non-JSON body is a 415 everywhere', async () => {
    expect(await post('token=x', FORM, '/json')).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await post('token=x', { 'content-type': 'text/plain' })).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await post('token=x', { 'content-type': 'multipart/form-data; boundary=x' })).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});
