import { assertMatchesContract, Contract, OpenApiDocument } from '../support/contract';

const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req-1' };
const error = (statusCode: number, code: string) => ({ error: 'message', statusCode, code, request_id: 'req-1' });

describe('assertMatchesContract against the committed openapi.yaml', () => {
  it('accepts a documented status with a body that matches its schema', () => {
    expect(() => assertMatchesContract('GET', '/health', 200, { status: 'ok', database: 'up' }, json)).not.toThrow();
    expect(() => assertMatchesContract('GET', '/health?verbose=1', 503, error(503, 'SERVER_BUSY'), { ...json, 'retry-after': '1' })).not.toThrow();
  });

  it('rejects a status the operation does not document', () => {
    expect(() => assertMatchesContract('GET', '/health', 418, error(418, 'INVALID_REQUEST'), json)).toThrow(/status 418 is not documented for getHealth \(documented: 200, (\d+, )*503\)/);
  });

  it('rejects a field the schema does not document', () => {
    expect(() => assertMatchesContract('GET', '/health', 200, { status: 'ok', database: 'up', uptime: 12 }, json)).toThrow(/undocumented property "uptime"/);
  });

  it('rejects a wrong type, a value outside an enum, and a missing required field', () => {
    expect(() => assertMatchesContract('GET', '/health', 200, { status: 1, database: 'up' }, json)).toThrow(/\/status: must be string/);
    expect(() => assertMatchesContract('GET', '/health', 200, { status: 'ok', database: 'down' }, json)).toThrow(/\/database: must be equal to one of the allowed values/);
    expect(() => assertMatchesContract('GET', '/health', 200, { status: 'ok' }, json)).toThrow(/must have required property 'database'/);
  });

  it('rejects an error body that breaks the contract error rules', () => {
    expect(() => assertMatchesContract('GET', '/health', 503, { error: 'x', statusCode: 503, code: 'NOPE' }, { ...json, 'retry-after': '1' })).toThrow(/\/code: must be equal to one of the allowed values/);
    expect(() => assertMatchesContract('GET', '/health', 503, error(500, 'SERVER_BUSY'), { ...json, 'retry-after': '1' })).toThrow(/\/statusCode: must be equal to one of the allowed values/);
    expect(() => assertMatchesContract('GET', '/health', 503, error(503, 'INTERNAL_ERROR'), { ...json, 'retry-after': '1' })).toThrow(/\/code: must be equal to one of the allowed values/);
    expect(() => assertMatchesContract('GET', '/health', 503, { ...error(503, 'SERVER_BUSY'), request_id: 'req-2' }, { ...json, 'retry-after': '1' })).toThrow(/request_id req-2 is not the X-Request-Id header req-1/);
  });

  it('holds each error response to the codes its status can carry, and a 503 to its Retry-After', () => {
    const busy = { ...json, 'retry-after': '1' };
    expect(() => assertMatchesContract('GET', '/health', 503, error(503, 'SERVER_BUSY'), busy)).not.toThrow();
    expect(() => assertMatchesContract('GET', '/health', 503, error(503, 'SERVER_BUSY'), json)).toThrow(/the documented header Retry-After is missing/);
    expect(() => assertMatchesContract('POST', '/auth/login', 401, error(401, 'INVALID_CREDENTIALS'), json)).not.toThrow();
    expect(() => assertMatchesContract('POST', '/auth/login', 401, error(401, 'MISSING_AUTH'), json)).toThrow(/\/code: must be equal to one of the allowed values/);
    expect(() => assertMatchesContract('GET', '/users/me', 401, error(401, 'INVALID_OR_EXPIRED_TOKEN'), json)).not.toThrow();
    expect(() => assertMatchesContract('GET', '/users/me', 401, error(401, 'INVALID_CREDENTIALS'), json)).toThrow(/\/code: must be equal to one of the allowed values/);
  });

  it("holds emails to RFC 6531's idn-email: an address with letters beyond ASCII passes, a malformed one does not", () => {
    const at = '2024-01-15T12:00:00.000Z';
    const me = (email: string) => () =>
      assertMatchesContract('GET', '/users/me', 200, { id: '6f1c2a9e-3b7d-4e0a-9c51-2d8f4b6a7e10', email, created_at: at, updated_at: at, email_confirmed_at: at }, json);
    for (const email of ['ada@example.com', 'ada@bücher.example', 'josé@exemple.fr', '"john smith"@example.com', '\uff42\uff4f\uff42@example.com']) {
      expect(me(email)).not.toThrow();
    }
    for (const email of ['ada', 'ada@', '@example.com', 'a b@example.com', 'ada..b@example.com', 'ada@exa mple.com', 'ada@-example.com']) {
      expect(me(email)).toThrow(/\/email: must match format "idn-email"/);
    }
  });

  it('accepts the field list of a validation error, and nothing else it does not document', () => {
    const invalid = { ...error(400, 'INVALID_REQUEST'), errors: [{ field: 'email', code: 'isEmail', message: 'email must be an email' }] };
    expect(() => assertMatchesContract('POST', '/auth/login', 400, invalid, json)).not.toThrow();
    expect(() => assertMatchesContract('POST', '/auth/login', 400, { ...invalid, errors: [{ field: 'email' }] }, json)).toThrow(/must have required property 'code'/);
    expect(() => assertMatchesContract('POST', '/auth/login', 400, { ...invalid, stack: 'at …' }, json)).toThrow(/undocumented property "stack"/);
  });

  it('rejects an undocumented path or method, and a body of an undocumented media type', () => {
    expect(() => assertMatchesContract('GET', '/no/such/route', 404, error(404, 'NOT_FOUND'), json)).toThrow(/documents no path that matches \/no\/such\/route/);
    expect(() => assertMatchesContract('DELETE', '/health', 404, error(404, 'NOT_FOUND'), json)).toThrow(/documents no DELETE on \/health/);
    expect(() => assertMatchesContract('GET', '/health', 200, 'ok', { 'content-type': 'text/plain', 'x-request-id': 'req-1' })).toThrow(/content-type text\/plain is not documented/);
  });
});

describe('Contract (the validator on a purpose-made document)', () => {
  const thing = {
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid' },
      name: { type: 'string', nullable: true, maxLength: 5 },
      kind: { type: 'string', enum: ['a', 'b'], nullable: true },
      owner: { nullable: true, allOf: [{ $ref: '#/components/schemas/Owner' }] },
      created_at: { type: 'string', format: 'date-time' },
      count: { type: 'integer', format: 'int32', minimum: 0, exclusiveMinimum: true },
      tags: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' } } } },
      meta: { type: 'object', additionalProperties: { type: 'string' } },
    },
    required: ['id', 'name', 'created_at'],
  };
  const document: OpenApiDocument = {
    openapi: '3.0.0',
    servers: [{ url: '/' }],
    paths: {
      '/things/{id}': {
        get: { operationId: 'getThing', responses: { '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } } } },
        delete: { operationId: 'deleteThing', responses: { '204': { description: 'gone' }, '4XX': { $ref: '#/components/responses/Problem' } } },
      },
      '/things/mine': {
        get: { operationId: 'listMyThings', responses: { '200': { description: '', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } } } } } },
      },
      '/things/{id}/open': {
        get: {
          operationId: 'openThing',
          responses: {
            '302': {
              description: 'to the thing',
              headers: { Location: { required: true, schema: { type: 'string', format: 'uri' } }, 'Retry-After': { schema: { type: 'integer', minimum: 1 } } },
            },
          },
        },
      },
      '/composed': {
        get: {
          operationId: 'getComposed',
          responses: { '200': { description: '', content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Owner' }, { type: 'object', properties: { extra: { type: 'boolean' } } }] } } } } },
        },
      },
    },
    components: {
      schemas: {
        Thing: thing,
        Owner: { type: 'object', properties: { email: { type: 'string', format: 'email' } }, required: ['email'] },
        Problem: { type: 'object', properties: { error: { type: 'string' }, statusCode: { type: 'integer' }, code: { type: 'string' } } },
      },
      responses: { Problem: { description: 'a client error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } } } },
    },
  };
  const contract = new Contract(document);
  const valid = { id: '0b7f7c52-4a0e-4f0e-9c1e-6f3f4d1f2a10', name: 'box', created_at: '2024-01-15T12:00:00.000Z' };
  const check = (method: string, path: string, status: number, body: unknown, headers: Record<string, string> = { 'content-type': json['content-type'] }) =>
    () => contract.assertMatches(method, path, status, body, headers);

  it('matches a templated path, and prefers a concrete path over a template', () => {
    expect(check('GET', '/things/42', 200, valid)).not.toThrow();
    expect(check('GET', '/things/mine', 200, [valid])).not.toThrow();
    expect(check('GET', '/things/mine', 200, valid)).toThrow(/listMyThings.*must be array/s);
    expect(check('GET', '/things/42/extra', 200, valid)).toThrow(/no path that matches/);
  });

  it('honours nullable on plain types, enums and references', () => {
    expect(check('GET', '/things/1', 200, { ...valid, name: null, kind: null, owner: null })).not.toThrow();
    expect(check('GET', '/things/1', 200, { ...valid, owner: { email: 'a@b.co' }, kind: 'a' })).not.toThrow();
    expect(check('GET', '/things/1', 200, { ...valid, id: null })).toThrow(/\/id: must be string/);
    expect(check('GET', '/things/1', 200, { ...valid, kind: 'c' })).toThrow(/\/kind/);
  });

  it('closes nested objects and references, but leaves declared maps open', () => {
    expect(check('GET', '/things/1', 200, { ...valid, owner: { email: 'a@b.co', admin: true } })).toThrow(/\/owner: undocumented property "admin"/);
    expect(check('GET', '/things/1', 200, { ...valid, tags: [{ label: 'x', colour: 'red' }] })).toThrow(/\/tags\/0: undocumented property "colour"/);
    expect(check('GET', '/things/1', 200, { ...valid, meta: { anything: 'goes' } })).not.toThrow();
    expect(check('GET', '/things/1', 200, { ...valid, meta: { anything: 1 } })).toThrow(/\/meta\/anything: must be string/);
  });

  it('closes an allOf composition over the union of its members', () => {
    expect(check('GET', '/composed', 200, { email: 'a@b.co', extra: true })).not.toThrow();
    expect(check('GET', '/composed', 200, { email: 'a@b.co', extra: true, more: 1 })).toThrow(/undocumented property "more"/);
  });

  it('checks formats and OpenAPI 3.0 boolean exclusive bounds', () => {
    expect(check('GET', '/things/1', 200, { ...valid, id: 'not-a-uuid' })).toThrow(/\/id: must match format "uuid"/);
    expect(check('GET', '/things/1', 200, { ...valid, created_at: 'yesterday' })).toThrow(/\/created_at: must match format "date-time"/);
    expect(check('GET', '/things/1', 200, { ...valid, count: 0 })).toThrow(/\/count: must be > 0/);
    expect(check('GET', '/things/1', 200, { ...valid, count: 1.5 })).toThrow(/\/count: must be integer/);
  });

  it('handles bodiless responses: none expected, none accepted', () => {
    expect(check('DELETE', '/things/1', 204, undefined, {})).not.toThrow();
    expect(check('DELETE', '/things/1', 204, { gone: true })).toThrow(/documents no body, but one came back/);
    expect(check('GET', '/things/1', 200, undefined, {})).toThrow(/documents a body \(application\/json\), but none came back/);
  });

  it('matches status ranges and resolves response references', () => {
    expect(check('DELETE', '/things/1', 404, { error: 'no', statusCode: 404, code: 'NOT_FOUND' })).not.toThrow();
    expect(check('DELETE', '/things/1', 404, { error: 'no', statusCode: 404, code: 'NOT_FOUND', stack: '…' })).toThrow(/undocumented property "stack"/);
    expect(check('DELETE', '/things/1', 500, undefined, {})).toThrow(/status 500 is not documented for deleteThing \(documented: 204, 4XX\)/);
  });

  it('checks documented headers: required ones present, values of the documented type', () => {
    expect(check('GET', '/things/1/open', 302, undefined, { location: 'http://dashboard.test/?ok=1' })).not.toThrow();
    expect(check('GET', '/things/1/open', 302, undefined, {})).toThrow(/the documented header Location is missing/);
    expect(check('GET', '/things/1/open', 302, undefined, { location: 'http://x.test/', 'retry-after': 'soon' })).toThrow(/header Retry-After: soon/);
    expect(check('GET', '/things/1/open', 302, undefined, { location: 'http://x.test/', 'retry-after': '30' })).not.toThrow();
  });
});
