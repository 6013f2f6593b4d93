import { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error';

/** The route config entry (`@RouteConfig` of @nestjs/platform-fastify) that sets a route's own body limit, in bytes. */
export const ROUTE_BODY_LIMIT = 'bodyLimitBytes';

/**
 * The route config entry (`@RouteConfig`) of a route that parses its JSON body itself, after checking
 * it as received: a signature over the exact bytes (GitHub's leak reports). Such a route gets an
 * UnparsedJson as its body, so a body its check refuses costs no parsing, and no parse can change
 * the bytes it checks.
 */
export const ROUTE_PARSES_JSON = 'parsesJson';

/** A JSON body as received, for a route marked ROUTE_PARSES_JSON; `parse()` is the parser every other JSON body goes through, 400 included. */
export interface UnparsedJson {
  readonly text: string;
  parse(): Promise<unknown>;
}

/**
 * Fastify route config (Nest's `@RouteConfig(ACCEPTS_FORM)`) of the routes that also read
 * `application/x-www-form-urlencoded`, as the protocols they implement require (RFC 7662's
 * introspection); everywhere else a form is a 415, as any other non-JSON body.
 */
export const ACCEPTS_FORM = { acceptsForm: true } as const;

/**
 * JSON is the only body this API reads (but for the routes marked ACCEPTS_FORM), and an empty body is no body, whatever its Content-Type.
 * Common clients send `Content-Type: application/json` with nothing after it on a POST or DELETE
 * that takes no body (or `-d ''`, which curl labels form-urlencoded); Fastify's own parsers answer
 * those 400 or 415. Here an empty body reaches the route as no body: an operation without one
 * goes ahead, and one that needs a body answers the validation pipe's 400. A non-empty body that is
 * not JSON is still a 415.
 *
 * The parsers fail with an AppError: Nest turns Fastify's own errors into bare HttpExceptions,
 * losing their codes, so the answer would carry Fastify's wording.
 */
export function acceptJsonOrEmptyBodies(fastify: FastifyInstance): void {
  // A route may take larger bodies than BODY_LIMIT_BYTES: `@RouteConfig({ [ROUTE_BODY_LIMIT]: bytes })`.
  fastify.addHook('onRoute', (route) => {
    const limit = (route.config as Record<string, unknown> | undefined)?.[ROUTE_BODY_LIMIT];
    if (typeof limit === 'number') route.bodyLimit = limit;
  });
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const parse = (request: FastifyRequest, text: string, done: (error: AppError | null, json: unknown) => void): void => {
    parseJson(request, text, (error, json) => done(error ? AppError.invalidRequest('Invalid request: the body is not valid JSON') : null, json));
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text === '') done(null, undefined);
    else if ((request.routeOptions.config as { [ROUTE_PARSES_JSON]?: boolean } | undefined)?.[ROUTE_PARSES_JSON] !== true) parse(request, text, done);
    else {
      const unparsed: UnparsedJson = { text, parse: () => new Promise((resolve, reject) => parse(request, text, (error, json) => (error ? reject(error) : resolve(json)))) };
      done(null, unparsed);
    }
  });
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else if ((request.routeOptions.config as { acceptsForm?: boolean } | undefined)?.acceptsForm !== true) done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'), undefined);
    else {
      const fields = parseForm(body.toString('utf8'));
      if (fields === undefined) done(AppError.invalidRequest('Invalid request: the form is malformed or names a field twice'), undefined);
      else done(null, fields);
    }
  });
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'), undefined);
  });
}

/**
 * A form's fields as a plain object; undefined when one is named twice (RFC 6749 §3.1) or an escape
 * is broken. A field named `__proto__` is defined as a field like any other, not assigned (which
 * would set the object's prototype, or drop a string silently).
 */
function parseForm(body: string): Record<string, string> | undefined {
  const fields: Record<string, string> = {};
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = formDecode(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : formDecode(pair.slice(at + 1));
    if (name === undefined || value === undefined || Object.hasOwn(fields, name)) return undefined;
    if (name === '__proto__') Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
    else fields[name] = value;
  }
  return fields;
}

/**
 * `+` is a space, `%XX` a byte of UTF-8; undefined for a broken escape or bytes that are not UTF-8.
 * Most values (tokens) hold neither `+` nor `%` and are taken as they are.
 */
function formDecode(text: string): string | undefined {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
