import { EXCEPTION_FILTERS_METADATA, GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { RouteOptions } from 'fastify';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AnsweredFromPrincipal, answerFromPrincipalAtOnce, RENDER_FROM_PRINCIPAL } from '../../src/common/auth/answered-from-principal';
import { Principal } from '../../src/common/auth/principal';

const principal: Principal = {
  user: { id: 'u1', email: 'ada@example.com', emailConfirmedAt: null, createdAt: new Date(0), updatedAt: new Date(0) },
  method: 'jwt',
};
const render = (caller: Principal) => JSON.stringify({ id: caller.user.id });

class Probe {
  @AnsweredFromPrincipal(render)
  me() {}

  plain() {}
}

/** The route as Nest hands it to Fastify: the decorator's config, and Nest's own handler. */
function routeOf(method: 'me' | 'plain'): RouteOptions & { handler: jest.Mock } {
  return { method: 'GET', url: '/probe', config: Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, Probe.prototype[method]), handler: jest.fn(() => 'through nest') } as never;
}

const API_HEADERS = { 'x-frame-options': 'DENY', 'cache-control': 'no-store' };

/** Fastify's reply as far as the wrapper uses it, and Node's response under it. */
function reply() {
  const fake = {
    headers: {} as Record<string, string>,
    sent: [] as unknown[],
    hijacked: false,
    written: [] as Array<{ status: number; headers: string[]; body: unknown }>,
    header: (name: string, value: string) => ((fake.headers[name] = value), fake),
    send: (body: unknown) => (fake.sent.push(body), fake),
    hijack: () => ((fake.hijacked = true), fake),
    raw: {
      writeHead: (status: number, headers: string[]) => fake.written.push({ status, headers, body: undefined }),
      end: (body: unknown) => (fake.written[fake.written.length - 1].body = body),
    },
  };
  return fake;
}

describe('answerFromPrincipalAtOnce', () => {
  it('answers a request the guard admits at once itself: status, API headers, request id, body; nothing left for Fastify', () => {
    const admitAtOnce = jest.fn(() => principal);
    const route = routeOf('me');
    const throughNest = route.handler;
    answerFromPrincipalAtOnce(() => ({ admitAtOnce }), API_HEADERS)(route);
    const answer = reply();
    const request = { id: 'req-1', headers: {} };

    expect(route.handler.call(undefined, request, answer)).toBeUndefined();
    expect(admitAtOnce).toHaveBeenCalledWith(request, 'any');
    expect(answer.hijacked).toBe(true);
    expect(answer.written).toEqual([
      {
        status: 200,
        // Name, value, name, value: the form Node's writeHead takes without building an object.
        headers: ['x-frame-options', 'DENY', 'cache-control', 'no-store', 'x-request-id', 'req-1', 'content-type', 'application/json; charset=utf-8', 'content-length', '11'],
        body: '{"id":"u1"}',
      },
    ]);
    expect(answer.sent).toEqual([]);
    expect(throughNest).not.toHaveBeenCalled();
  });

  it("sends a browser's request through Fastify, so that its CORS headers go out with it", () => {
    const route = routeOf('me');
    answerFromPrincipalAtOnce(() => ({ admitAtOnce: () => principal }), API_HEADERS)(route);
    const answer = reply();

    expect(route.handler.call(undefined, { id: 'req-2', headers: { origin: 'https://app.example' } }, answer)).toBeUndefined();
    expect(answer.hijacked).toBe(false);
    expect(answer.sent).toEqual(['{"id":"u1"}']);
    expect(answer.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
  });

  it('hands the request to Nest, untouched, when the guard cannot admit it at once', () => {
    const route = routeOf('me');
    const throughNest = route.handler;
    answerFromPrincipalAtOnce(() => ({ admitAtOnce: () => undefined }), API_HEADERS)(route);
    const answer = reply();

    expect(route.handler.call(undefined, { headers: {} }, answer)).toBe('through nest');
    expect(throughNest).toHaveBeenCalledTimes(1);
    expect(answer.sent).toEqual([]);
    expect(answer.written).toEqual([]);
    expect(answer.hijacked).toBe(false);
  });

  it('leaves routes that do not declare it alone', () => {
    const route = routeOf('plain');
    const throughNest = route.handler;
    answerFromPrincipalAtOnce(() => ({ admitAtOnce: () => principal }), API_HEADERS)(route);
    expect(route.handler).toBe(throughNest);
  });
});

/**
 * The answers given at once skip whatever Nest would add to the route itself, so no route declared
 * @AnsweredFromPrincipal may carry a guard, interceptor, pipe or exception filter of its own or of
 * its controller, nor a parameter other than the request.
 */
describe('routes declared @AnsweredFromPrincipal in src', () => {
  const ROUTE_LEVEL = [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA];

  function declaredRoutes(): Array<{ name: string; controller: object; handler: (...args: unknown[]) => unknown }> {
    const files = readdirSync(join(__dirname, '../../src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.controller.ts'));
    const routes = [];
    for (const file of files) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      for (const exported of Object.values(require(join(__dirname, '../../src', file)) as Record<string, unknown>)) {
        if (typeof exported !== 'function') continue;
        for (const name of Object.getOwnPropertyNames(exported.prototype)) {
          const handler = exported.prototype[name];
          if (typeof handler === 'function' && Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler)?.[RENDER_FROM_PRINCIPAL]) {
            routes.push({ name: `${exported.name}.${name}`, controller: exported, handler });
          }
        }
      }
    }
    return routes;
  }

  it('finds GET /users/me among them', () => {
    expect(declaredRoutes().map((route) => route.name)).toContain('UsersController.getCurrentUser');
  });

  it('carry nothing route-level that the answers given at once would skip', () => {
    for (const { name, controller, handler } of declaredRoutes()) {
      for (const key of ROUTE_LEVEL) {
        expect([name, key, Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller) ?? []]).toEqual([name, key, []]);
      }
      // Parameters are keyed `<type>:<index>`; only the request (`@Req()`) is handed over as it is.
      const parameters = Object.keys(Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {});
      expect([name, parameters.filter((key) => !key.startsWith(`${RouteParamtypes.REQUEST}:`))]).toEqual([name, []]);
    }
  });
});
