import Ajv2019, { ErrorObject, Format, ValidateFunction } from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import { parse } from 'yaml';
import { ERROR_STATUS } from '../../src/common/errors/error-codes';

/**
 * Checks real responses against an OpenAPI 3.0 document: the status must be documented for the
 * operation, the body must match its schema exactly (an undocumented field fails), and documented
 * required headers must be present. `assertMatchesContract` uses the committed `openapi.yaml`.
 */
export class Contract {
  private readonly ajv: Ajv2019;
  private readonly paths: CompiledPath[];
  private readonly basePath: string;
  private readonly validators = new WeakMap<SchemaObject, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    this.ajv = new Ajv2019({ allErrors: true, strictTypes: false, strictTuples: false, allowUnionTypes: true });
    addFormats(this.ajv);
    for (const [format, check] of Object.entries(OPENAPI_FORMATS)) this.ajv.addFormat(format, check);
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: componentDefinitions(document.components?.schemas ?? {}) });
    this.basePath = basePathOf(document);
    this.paths = Object.keys(document.paths ?? {})
      .map((template) => ({ template, pattern: templatePattern(template), params: (template.match(/\{/g) ?? []).length }))
      // The OpenAPI rule: a concrete path wins over a templated one that also matches.
      .sort((a, b) => a.params - b.params);
  }

  /**
   * Throws, with a message that says what differs, unless the response is one `openapi.yaml`
   * documents. `body` is the parsed JSON, the raw text of a non-JSON body, or `undefined` when empty.
   */
  assertMatches(method: string, url: string, status: number, body: unknown, headers: HeaderSource): void {
    const path = this.stripBase(new URL(url, 'http://contract.invalid').pathname);
    const what = `${method.toUpperCase()} ${path} -> ${status}`;
    const matched = this.paths.find((candidate) => candidate.pattern.test(path));
    if (!matched) throw new ContractError(`${what}: openapi.yaml documents no path that matches ${path}`);
    const operation = this.document.paths[matched.template][method.toLowerCase()] as OperationObject | undefined;
    if (!operation) throw new ContractError(`${what}: openapi.yaml documents no ${method.toUpperCase()} on ${matched.template}`);
    const name = operation.operationId ?? `${method.toUpperCase()} ${matched.template}`;

    const documented = Object.keys(operation.responses ?? {});
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((candidate) => documented.includes(candidate));
    if (!key) throw new ContractError(`${what}: status ${status} is not documented for ${name} (documented: ${documented.join(', ')})`);
    const response = this.resolve<ResponseObject>(operation.responses[key]);

    const headerOf = headerReader(headers);
    this.checkHeaders(`${what} (${name})`, response, headerOf);
    this.checkBody(`${what} (${name})`, response, body, headerOf('content-type'));
    if (status >= 400) checkErrorBody(`${what} (${name})`, status, body, headerOf('x-request-id'));
  }

  private checkBody(what: string, response: ResponseObject, body: unknown, contentType: string | undefined): void {
    const content = response.content ?? {};
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      if (body !== undefined) throw new ContractError(`${what}: openapi.yaml documents no body, but one came back: ${preview(body)}`);
      return;
    }
    if (body === undefined) throw new ContractError(`${what}: openapi.yaml documents a body (${mediaTypes.join(', ')}), but none came back`);
    const actualType = (contentType ?? '').split(';')[0].trim().toLowerCase();
    const mediaType = mediaTypes.find((candidate) => mediaTypeMatches(candidate, actualType));
    if (!mediaType) throw new ContractError(`${what}: content-type ${actualType || '(none)'} is not documented (documented: ${mediaTypes.join(', ')})`);
    const schema = content[mediaType].schema;
    if (!schema || !isJson(actualType)) return;

    const validate = this.validator(schema);
    if (!validate(body)) {
      throw new ContractError(`${what}: the body does not match the documented schema${describeSchema(schema)}:\n${formatErrors(validate.errors ?? [])}\nbody: ${preview(body)}`);
    }
  }

  private checkHeaders(what: string, response: ResponseObject, headerOf: (name: string) => string | undefined): void {
    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const header = this.resolve<HeaderObject>(declared);
      const value = headerOf(name);
      if (value === undefined) {
        if (header.required) throw new ContractError(`${what}: the documented header ${name} is missing`);
        continue;
      }
      if (!header.schema) continue;
      const validate = this.validator(header.schema);
      const typed = ['integer', 'number'].includes(header.schema.type) && value.trim() !== '' ? Number(value) : value;
      if (!validate(typed)) throw new ContractError(`${what}: header ${name}: ${value} does not match its schema:\n${formatErrors(validate.errors ?? [])}`);
    }
  }

  private validator(schema: SchemaObject): ValidateFunction {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema, { closed: true }));
      this.validators.set(schema, validate);
    }
    return validate;
  }

  /** Follows a local `$ref` (`#/components/responses/…`, `#/components/headers/…`). */
  private resolve<T>(node: any): T {
    let current = node;
    for (let depth = 0; current && typeof current.$ref === 'string'; depth++) {
      if (depth > 10 || !current.$ref.startsWith('#/')) throw new ContractError(`cannot resolve $ref ${current.$ref}`);
      current = current.$ref
        .slice(2)
        .split('/')
        .reduce((parent: any, segment: string) => parent?.[segment.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
    }
    if (!current) throw new ContractError(`cannot resolve $ref ${node.$ref}`);
    return current;
  }

  private stripBase(path: string): string {
    if (this.basePath && (path === this.basePath || path.startsWith(`${this.basePath}/`))) return path.slice(this.basePath.length) || '/';
    return path;
  }
}

export class ContractError extends Error {
  override name = 'ContractError';
}

let committed: Contract | undefined;

/** The contract as committed in `openapi.yaml`, read once per test file. */
export function committedContract(): Contract {
  committed ??= new Contract(parse(readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8')));
  return committed;
}

/** Throws unless the committed `openapi.yaml` documents this response: status, body and headers. */
export function assertMatchesContract(method: string, path: string, status: number, body: unknown, headers: HeaderSource = {}): void {
  committedContract().assertMatches(method, path, status, body, headers);
}

export type HeaderSource = Headers | Record<string, string | undefined>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, SchemaObject>; [section: string]: unknown };
  servers?: Array<{ url: string }>;
  [key: string]: unknown;
}

type SchemaObject = Record<string, any>;
interface OperationObject {
  operationId?: string;
  responses: Record<string, unknown>;
}
interface ResponseObject {
  description?: string;
  content?: Record<string, { schema?: SchemaObject }>;
  headers?: Record<string, unknown>;
}
interface HeaderObject {
  required?: boolean;
  schema?: SchemaObject;
}
interface CompiledPath {
  template: string;
  pattern: RegExp;
  params: number;
}

const COMPONENTS_ID = 'openapi-components';

/** OpenAPI 3.0's own formats, which JSON Schema does not define. */
const OPENAPI_FORMATS: Record<string, Format> = {
  int32: { type: 'number', validate: (value: number) => Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 },
  int64: { type: 'number', validate: (value: number) => Number.isInteger(value) },
  float: { type: 'number', validate: () => true },
  double: { type: 'number', validate: () => true },
  byte: { type: 'string', validate: (value: string) => /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0 },
  binary: { type: 'string', validate: () => true },
  password: { type: 'string', validate: () => true },
  // From JSON Schema, which ajv-formats leaves out.
  'idn-email': { type: 'string', validate: isIdnEmail },
};

/** RFC 6531's local part: dot-separated runs of RFC 5322's atext and characters beyond ASCII, or a quoted string. */
const IDN_LOCAL_PART =
  /^(?:[\w!#$%&'*+/=?^`{|}~\u0080-\u{10FFFF}-]+(?:\.[\w!#$%&'*+/=?^`{|}~\u0080-\u{10FFFF}-]+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\u{10FFFF}]|\\[\x20-\x7e])*")$/u;

/** An address as RFC 6531 has it (`idn-email`): such a local part, `@`, and a domain that maps to an ASCII host name as DNS looks it up. */
function isIdnEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at < 1) return false;
  const domain = domainToASCII(value.slice(at + 1));
  return IDN_LOCAL_PART.test(value.slice(0, at)) && domain !== '' && (fullFormats.hostname as RegExp).test(domain);
}

/** Keywords of OpenAPI 3.0 schemas that carry documentation only, or that JSON Schema spells differently. */
const DOCUMENTATION_ONLY = new Set(['example', 'xml', 'externalDocs', 'discriminator', 'nullable']);

/**
 * Each component schema twice: closed (no undocumented property passes) for direct use, and open
 * for use as a member of an `allOf`, where the composing schema closes the union of the members.
 */
function componentDefinitions(schemas: Record<string, SchemaObject>): Record<string, SchemaObject> {
  const definitions: Record<string, SchemaObject> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    definitions[name] = toJsonSchema(schema, { closed: true });
    definitions[`${name}~open`] = toJsonSchema(schema, { closed: false });
  }
  return definitions;
}

/**
 * OpenAPI 3.0 schema -> JSON Schema 2019-09: `nullable` becomes a `null` alternative, boolean
 * `exclusiveMinimum`/`exclusiveMaximum` become numbers, component `$ref`s point into the shared
 * definitions, and every object that declares its properties and says nothing about others gets
 * `unevaluatedProperties: false`.
 */
export function toJsonSchema(schema: SchemaObject, { closed }: { closed: boolean }): SchemaObject {
  if (typeof schema !== 'object' || schema === null) return schema;
  if (typeof schema.$ref === 'string') return { $ref: componentRef(schema.$ref, closed) };

  const out: SchemaObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DOCUMENTATION_ONLY.has(key) || key.startsWith('x-')) continue;
    switch (key) {
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(value as SchemaObject).map(([name, child]) => [name, toJsonSchema(child, { closed: true })]));
        break;
      case 'items':
      case 'not':
        out[key] = toJsonSchema(value, { closed: true });
        break;
      case 'additionalProperties':
        out[key] = typeof value === 'object' ? toJsonSchema(value, { closed: true }) : value;
        break;
      case 'anyOf':
      case 'oneOf':
        out[key] = (value as SchemaObject[]).map((member) => toJsonSchema(member, { closed: true }));
        break;
      case 'allOf':
        out[key] = (value as SchemaObject[]).map((member) => toJsonSchema(member, { closed: false }));
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        if (value === true) out[key] = schema[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'];
        else if (typeof value === 'number') out[key] = value;
        break;
      default:
        out[key] = value;
    }
  }
  if (schema.exclusiveMinimum === true) delete out.minimum;
  if (schema.exclusiveMaximum === true) delete out.maximum;

  const declaresShape = out.properties !== undefined || Array.isArray(out.allOf);
  if (closed && declaresShape && out.additionalProperties === undefined && out.unevaluatedProperties === undefined) {
    out.unevaluatedProperties = false;
  }
  return schema.nullable === true ? nullable(out) : out;
}

function nullable(schema: SchemaObject): SchemaObject {
  if (schema.type === undefined) return { anyOf: [schema, { type: 'null' }] };
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const widened: SchemaObject = { ...schema, type: types.includes('null') ? types : [...types, 'null'] };
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) widened.enum = [...schema.enum, null];
  return widened;
}

function componentRef(ref: string, closed: boolean): string {
  const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (!match) throw new ContractError(`unsupported schema $ref ${ref}: only #/components/schemas/… is resolved`);
  return `${COMPONENTS_ID}#/$defs/${match[1]}${closed ? '' : '~open'}`;
}

function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

function basePathOf(document: OpenApiDocument): string {
  const url = document.servers?.[0]?.url ?? '/';
  const path = new URL(url, 'http://contract.invalid').pathname.replace(/\/+$/, '');
  return path === '/' ? '' : path;
}

function headerReader(headers: HeaderSource): (name: string) => string | undefined {
  if (headers instanceof Headers) return (name) => headers.get(name) ?? undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return (name) => lower[name.toLowerCase()];
}

function mediaTypeMatches(documented: string, actual: string): boolean {
  if (documented === actual || documented === '*/*') return true;
  return documented.endsWith('/*') && actual.startsWith(documented.slice(0, -1));
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * The contract's error rules: `statusCode` repeats the HTTP status, `code` is a code for that
 * status, and `request_id` is the id the response's `X-Request-Id` header carries.
 */
function checkErrorBody(what: string, status: number, body: unknown, requestId: string | undefined): void {
  if (typeof body !== 'object' || body === null || !('code' in body)) return;
  const { statusCode, code, request_id } = body as { statusCode?: unknown; code?: unknown; request_id?: unknown };
  if (statusCode !== status) throw new ContractError(`${what}: the error body says statusCode ${String(statusCode)}`);
  const expected = ERROR_STATUS[code as keyof typeof ERROR_STATUS];
  if (expected !== undefined && expected !== status) throw new ContractError(`${what}: code ${String(code)} belongs to HTTP ${expected}`);
  if (requestId !== undefined && request_id !== requestId) {
    throw new ContractError(`${what}: the error body's request_id ${String(request_id)} is not the X-Request-Id header ${requestId}`);
  }
}

function describeSchema(schema: SchemaObject): string {
  const ref = schema.$ref ?? (schema.items?.$ref ? `${schema.items.$ref}[]` : undefined);
  return ref ? ` (${String(ref).replace('#/components/schemas/', '')})` : '';
}

function formatErrors(errors: ErrorObject[]): string {
  return errors
    .map((error) => {
      const at = error.instancePath || '(root)';
      if (error.keyword === 'unevaluatedProperties') return `  ${at}: undocumented property "${error.params.unevaluatedProperty}"`;
      if (error.keyword === 'additionalProperties') return `  ${at}: undocumented property "${error.params.additionalProperty}"`;
      return `  ${at}: ${error.message}`;
    })
    .join('\n');
}

function preview(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
