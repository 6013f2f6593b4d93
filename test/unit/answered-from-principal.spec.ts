import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { RouteOptions } from 'fastify';
import { AnsweredFromPrincipal, answerFromPrincipalAtOnce } from '../../src/common/auth/answered-from-principal';
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

function reply() {
  const fake = { headers: {} as Record<string, string>, sent: [] as unknown[], header: (name: string, value: string) => ((fake.headers[name] = value), fake), send: (body: unknown) => (fake.sent.push(body), fake) };
  return fake;
}

describe('answerFromPrincipalAtOnce', () => {
  it('answers a request the guard admits at once with the rendered body, returning nothing for Fastify to send again', () => {
    const admitAtOnce = jest.fn(() => principal);
    const route = routeOf('me');
    const throughNest = route.handler;
    answerFromPrincipalAtOnce(() => ({ admitAtOnce }))(route);
    const answer = reply();
    const request = { headers: {} };

    expect(route.handler.call(undefined, request, answer)).toBeUndefined();
    expect(admitAtOnce).toHaveBeenCalledWith(request, 'any');
    expect(answer.sent).toEqual(['{"id":"u1"}']);
    expect(answer.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
    expect(throughNest).not.toHaveBeenCalled();
  });

  it('hands the request to Nest, untouched, when the guard cannot admit it at once', () => {
    const route = routeOf('me');
    const throughNest = route.handler;
    answerFromPrincipalAtOnce(() => ({ admitAtOnce: () => undefined }))(route);
    const answer = reply();

    expect(route.handler.call(undefined, { headers: {} }, answer)).toBe('through nest');
    expect(throughNest).toHaveBeenCalledTimes(1);
    expect(answer.sent).toEqual([]);
  });

  it('leaves routes that do not declare it alone', () => {
    const route = routeOf('plain');
    const throughNest = route.handler;
    answerFromPrincipalAtOnce(() => ({ admitAtOnce: () => principal }))(route);
    expect(route.handler).toBe(throughNest);
  });
});
