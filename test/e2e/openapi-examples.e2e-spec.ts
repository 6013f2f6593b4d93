import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { confirmNewestRegistration } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';

type Schema = Record<string, any>;
const document = parse(readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8'));

function resolve(schema: Schema): Schema {
  return typeof schema?.$ref === 'string' ? resolve(document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]) : schema;
}

/** The body Swagger UI prefills for an operation: every documented property, with its example (an array: one item). */
function exampleBody(operation: Schema): Record<string, unknown> | Array<Record<string, unknown>> | undefined {
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (!schema) return undefined;
  const objectExample = (object: Schema) =>
    Object.fromEntries(Object.entries(resolve(object).properties as Record<string, Schema>).map(([name, property]) => [name, resolve(property).example]));
  return resolve(schema).type === 'array' ? [objectExample(resolve(schema).items)] : objectExample(schema);
}

/** The path and query Swagger UI builds from the parameters' examples (a query parameter without one is left out). */
function exampleUrl(path: string, operation: Schema): string {
  let url = path;
  const query = new URLSearchParams();
  for (const parameter of operation.parameters ?? []) {
    const example = parameter.example ?? parameter.schema?.example;
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, String(example));
    else if (parameter.in === 'query' && example !== undefined) query.set(parameter.name, String(example));
  }
  return query.size > 0 ? `${url}?${query}` : url;
}

/**
 * What each operation's examples answer on a fresh service, run in this order. Example tokens are
 * made up, so what takes one answers its documented "bad token" status; the rest succeed.
 */
const EXPECTED: Array<[operationId: string, status: number]> = [
  ['getHealth', 200],
  ['getReadiness', 200],
  ['getJwks', 200],
  ['registerUser', 201],
  ['resendConfirmation', 200],
  ['forgotPassword', 200],
  ['openConfirmationLink', 302],
  // A form: the example run posts no body, so the token is missing and the button lands on the error.
  ['submitConfirmationPage', 303],
  ['confirmEmail', 400],
  ['resetPassword', 400],
  // The example account, once its (mailed) link was opened: see below.
  ['login', 200],
  ['refresh', 401],
  ['getCurrentUser', 200],
  ['createApiKey', 201],
  ['listApiKeys', 200],
  ['rollApiKey', 404],
  ['getApiKeyUsage', 404],
  ['revokeApiKey', 404],
  // The example run holds a user's JWT, not an introspection client's credentials.
  ['introspectToken', 401],
  // GitHub signs its reports; an example cannot carry a signature.
  ['reportLeakedApiKeys', 401],
  ['listSessions', 200],
  // The example id is made up: no such session.
  ['revokeSession', 404],
  // The example account's password, changed to the same words.
  ['changePassword', 204],
  ['logout', 204],
];

describe('every example in openapi.yaml, run as it is against a fresh service with the default redirect allow-list', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { DASHBOARD_URL: 'http://localhost:5173', REDIRECT_ALLOW_LIST: 'http://localhost:5173' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('covers every operation of the document', () => {
    const documented = Object.values(document.paths as Record<string, Record<string, Schema>>).flatMap((item) => Object.values(item).map((operation) => operation.operationId));
    expect(EXPECTED.map(([operationId]) => operationId).sort()).toEqual(documented.sort());
  });

  it('answers each example with the status its documentation gives it, in the documented shape', async () => {
    const operations = new Map<string, [string, string, Schema]>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Schema>>)) {
      for (const [method, operation] of Object.entries(item)) operations.set(operation.operationId, [method.toUpperCase(), path, operation]);
    }
    let jwt: Record<string, string> = {};
    const answered: Array<[string, number]> = [];
    for (const [operationId] of EXPECTED) {
      const [method, path, operation] = operations.get(operationId)!;
      if (operationId === 'login') {
        // A person opens the mailed link; the example token cannot be it.
        await confirmNewestRegistration(service, (exampleBody(operation) as Record<string, unknown>).email as string);
      }
      const headers = operation.security?.length ? jwt : {};
      // service.request checks the answer against openapi.yaml: its status is documented, its body and headers match.
      const response = await service.request(method, exampleUrl(path, operation), { body: exampleBody(operation), headers });
      answered.push([operationId, response.status]);
      if (operationId === 'login' && response.status === 200) jwt = { authorization: `Bearer ${response.body.session.access_token}` };
    }
    expect(answered).toEqual(EXPECTED);
  });
});
