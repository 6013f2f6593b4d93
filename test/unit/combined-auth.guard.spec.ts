import { Controller, ExecutionContext, Get, Logger, Post } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppPassport } from '../../src/auth/guards/app.passport';
import { CombinedAuthGuard } from '../../src/auth/guards/combined-auth.guard';
import { CredentialUses } from '../../src/auth/guards/credential.uses';
import { Authenticated, IntrospectionClientOnly, Public } from '../../src/common/auth/auth-policy.decorator';
import { IntrospectionClients } from '../../src/auth/guards/introspection.clients';
import { AuthenticatedUser, Principal } from '../../src/common/auth/principal';
import { AppError } from '../../src/common/errors/app-error';
import { loadConfig } from '../../src/config/app-config';
import { RateLimiterService } from '../../src/rate-limit/rate-limiter.service';

@Controller('probe')
class ProbeController {
  @Get('public')
  @Public()
  public() {}

  @Get('any')
  @Authenticated()
  any() {}

  @Get('jwt')
  @Authenticated({ jwtOnly: true })
  jwt() {}

  @Get('undeclared')
  undeclared() {}

  @Post('write')
  @Authenticated()
  write() {}

  @Get('deploy')
  @Authenticated({ scopes: ['deploy'] })
  deploy() {}

  @Post('introspect')
  @IntrospectionClientOnly()
  introspect() {}
}

type Route = keyof ProbeController;

const user: AuthenticatedUser = { id: 'u1', email: 'ada@example.com', emailConfirmedAt: null, createdAt: new Date(0), updatedAt: new Date(0) };
const jwtPrincipal: Principal = { user, method: 'jwt', session_id: 's1' };
const apiKeyPrincipal: Principal = { user, method: 'api_key', api_key_id: 'k1' };

type Outcome = { success: Principal } | { fail: unknown } | { error: unknown };

/** A passport strategy whose verdict the test decides; records that it ran. */
class FakeStrategy {
  calls: string[] = [];
  /** Its verdict from memory, by the credential it reads; none unless the test gives one. */
  memory?: (credential: string) => Principal | undefined;
  constructor(
    readonly name: string,
    private readonly decide: (headers: Record<string, string>) => Outcome,
    /** The credential it reads from the headers, for the memory-first shortcut. */
    readonly read: (headers: Record<string, string>) => string | undefined = (headers) => headers.authorization ?? headers['x-api-key'],
  ) {}

  credentialIn(headers: Record<string, string>) {
    return this.read(headers);
  }

  fromMemory(credential: string) {
    return this.memory?.(credential);
  }

  authenticate(this: FakeStrategy & { success(u: unknown): void; fail(c: unknown): void; error(e: unknown): void }, request: { headers: Record<string, string> }) {
    this.calls.push(this.name);
    const outcome = this.decide(request.headers);
    if ('success' in outcome) this.success(outcome.success);
    else if ('error' in outcome) this.error(outcome.error);
    else this.fail(outcome.fail);
  }
}

const bearer = (headers: Record<string, string>) => headers.authorization?.replace(/^Bearer /, '');

const bearerKey = (headers: Record<string, string>) => {
  const value = bearer(headers);
  return value?.startsWith('atiru_') ? value : undefined;
};

const jwt = () =>
  new FakeStrategy(
    'jwt',
    (headers) => (bearer(headers) === 'good-jwt' ? { success: jwtPrincipal } : { fail: new Error('invalid signature') }),
    (headers) => (bearerKey(headers) === undefined ? bearer(headers) : undefined),
  );
const apiKeyBearer = () =>
  new FakeStrategy('api-key-bearer', (headers) => (bearer(headers) === 'atiru_good' ? { success: apiKeyPrincipal } : { fail: new Error('unknown key') }), bearerKey);
const apiKeyHeader = () =>
  new FakeStrategy(
    'api-key-header',
    (headers) => (headers['x-api-key'] === 'atiru_good' ? { success: apiKeyPrincipal } : { fail: new Error('unknown key') }),
    (headers) => headers['x-api-key'],
  );

/** Principals the strategies of that name know from memory, by the credential they read. */
type Memory = Record<string, (credential: string) => Principal | undefined>;

function setUp(strategies: FakeStrategy[], env: Record<string, string> = {}, memory: Memory = {}, clients?: IntrospectionClients) {
  const passport = new AppPassport();
  const ran: string[] = [];
  for (const strategy of strategies) {
    strategy.memory = memory[strategy.name];
    passport.use(strategy.name, strategy as any);
    // passport runs a copy made with Object.create, so record through a shared list.
    strategy.calls = ran;
  }
  const limiter = new RateLimiterService(loadConfig({ NODE_ENV: 'test', ...env }));
  const uses = new CredentialUses();
  return { guard: new CombinedAuthGuard(new Reflector(), passport, limiter, uses, clients), ran, uses };
}

function call(guard: CombinedAuthGuard, route: Route, headers: Record<string, string> = {}) {
  const request: { headers: Record<string, string>; method: string; url: string; ip: string; user?: Principal } = {
    headers,
    method: 'GET',
    url: `/probe/${route}?q=1`,
    ip: headers['x-test-ip'] ?? '192.0.2.1',
  };
  const context = {
    getHandler: () => ProbeController.prototype[route],
    getClass: () => ProbeController,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
    getArgByIndex: (index: number) => [request, {}][index],
  } as unknown as ExecutionContext;
  return {
    /** The guard's answer awaited, whether it comes at once or later, thrown or rejected. */
    get result() {
      return (async () => guard.canActivate(context))();
    },
    request,
    /** The guard's answer as it gives it. */
    answer: () => guard.canActivate(context),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const code = async (promise: Promise<unknown>) => {
  const error = await rejection(promise);
  return error instanceof AppError ? error.code : error;
};

describe('CombinedAuthGuard', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warn.mockRestore());

  it('lets a @Public() route through without running any strategy', async () => {
    const { guard, ran } = setUp([jwt()]);
    await expect(call(guard, 'public').result).resolves.toBe(true);
    expect(ran).toEqual([]);
  });

  it.each<[Route]>([['any'], ['jwt'], ['undeclared']])('answers MISSING_AUTH on %s without a credential, running nothing', async (route) => {
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    expect(await code(call(guard, route).result)).toBe('MISSING_AUTH');
    expect(ran).toEqual([]);
  });

  it.each(['Basic x', 'Bearer', 'Bearer ', 'Bearer a b', 'bearer-token'])('answers MISSING_AUTH for "Authorization: %s"', async (authorization) => {
    const { guard, ran } = setUp([jwt()]);
    expect(await code(call(guard, 'any', { authorization }).result)).toBe('MISSING_AUTH');
    expect(ran).toEqual([]);
  });

  it('treats a route that declares nothing as protected: a valid JWT passes', async () => {
    const { guard } = setUp([jwt()]);
    const { result, request } = call(guard, 'undeclared', { authorization: 'Bearer good-jwt' });
    await expect(result).resolves.toBe(true);
    expect(request.user).toBe(jwtPrincipal);
  });

  it('sets the JWT principal and stops at the first strategy that succeeds', async () => {
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    const { result, request } = call(guard, 'jwt', { authorization: 'Bearer good-jwt' });
    await expect(result).resolves.toBe(true);
    expect(request.user).toBe(jwtPrincipal);
    expect(ran).toEqual(['jwt']);
  });

  it('answers at once, without a promise and running no strategy, for a credential known from memory', () => {
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], {}, { 'api-key-header': (key) => (key === 'atiru_good' ? apiKeyPrincipal : undefined) });
    const { answer, request } = call(guard, 'any', { 'x-api-key': 'atiru_good' });
    expect(answer()).toBe(true);
    expect(request.user).toBe(apiKeyPrincipal);
    expect(ran).toEqual([]);
  });

  it('waits for a strategy that decides later (a database lookup)', async () => {
    const later = new FakeStrategy('jwt', () => ({ success: jwtPrincipal }));
    const decide = later.authenticate;
    later.authenticate = function (this: any, request: any) {
      setTimeout(() => decide.call(this, request), 5);
    } as any;
    const { guard } = setUp([later]);
    const pending = call(guard, 'any', { authorization: 'Bearer good-jwt' }).answer();
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toBe(true);
  });

  it('answers INVALID_OR_EXPIRED_TOKEN when every strategy fails, after trying them in the chain\'s order', async () => {
    const { guard, ran } = setUp([apiKeyHeader(), apiKeyBearer(), jwt()]);
    expect(await code(call(guard, 'any', { authorization: 'Bearer forged' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(ran).toEqual(['jwt', 'api-key-bearer', 'api-key-header']);
    ran.length = 0;
    // Two credentials: the chain runs on the Bearer value alone, then on the key alone.
    expect(await code(call(guard, 'any', { authorization: 'Bearer forged', 'x-api-key': 'atiru_bad' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(ran).toEqual(['jwt', 'api-key-bearer', 'api-key-header', 'jwt', 'api-key-bearer', 'api-key-header']);
  });

  it('stops at the first strategy that succeeds: JWT, then API key on Bearer, then X-Api-Key', async () => {
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    await expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
    expect(ran).toEqual(['jwt', 'api-key-bearer', 'api-key-header']);
    ran.length = 0;
    await expect(call(guard, 'any', { authorization: 'Bearer atiru_good', 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
    expect(ran).toEqual(['jwt', 'api-key-bearer']);
  });

  it('answers INVALID_OR_EXPIRED_TOKEN, and counts a failure, for a Bearer value no strategy accepts', async () => {
    const { guard, ran } = setUp([new FakeStrategy('jwt', () => ({ fail: new Error('never') }), () => undefined)], { RATE_LIMIT_AUTH_FAILURE_IP: '1/60' });
    expect(await code(call(guard, 'any', { authorization: 'Bearer ?' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(ran).toEqual(['jwt']);
    expect(await code(call(guard, 'any', { authorization: 'Bearer ?' }).result)).toBe('RATE_LIMITED');
  });

  it('leaves out strategies that are not registered (no API-key module)', async () => {
    const { guard, ran } = setUp([jwt()]);
    expect(await code(call(guard, 'any', { authorization: 'Bearer atiru_good' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(ran).toEqual(['jwt']);
  });

  it('keeps two guards\' strategies apart: each runs its own Passport\'s', async () => {
    const mine = setUp([jwt()]);
    const theirs = setUp([new FakeStrategy('jwt', () => ({ fail: new Error('not mine') }))]);
    await expect(call(mine.guard, 'any', { authorization: 'Bearer good-jwt' }).result).resolves.toBe(true);
    expect(await code(call(theirs.guard, 'any', { authorization: 'Bearer good-jwt' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect([mine.ran, theirs.ran]).toEqual([['jwt'], ['jwt']]);
  });

  it('accepts an API key on Authorization: Bearer for a JWT-or-API-key route', async () => {
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    const { result, request } = call(guard, 'any', { authorization: 'Bearer atiru_good' });
    await expect(result).resolves.toBe(true);
    expect(request.user).toBe(apiKeyPrincipal);
    expect(ran).toEqual(['jwt', 'api-key-bearer']);
  });

  it('accepts an API key in X-Api-Key, even next to a malformed Authorization header', async () => {
    const { guard } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    await expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
    await expect(call(guard, 'any', { 'x-api-key': 'atiru_good', authorization: 'Basic x' }).result).resolves.toBe(true);
  });

  it('takes the first applicable strategy\'s verdict from memory without running any strategy, and runs them when it has none', async () => {
    const known = (token: string) => (token === 'good-jwt' ? jwtPrincipal : undefined);
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], {}, { jwt: known });

    const fromMemory = call(guard, 'any', { authorization: 'Bearer good-jwt' });
    expect(fromMemory.answer()).toBe(true);
    expect(fromMemory.request.user).toBe(jwtPrincipal);
    expect(ran).toEqual([]);

    // Not known: the chain runs, on the Bearer value alone (the JWT fails), then on the key alone (accepted).
    await expect(call(guard, 'any', { authorization: 'Bearer other-jwt', 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
    expect(ran).toEqual(['jwt', 'api-key-bearer', 'api-key-header', 'jwt', 'api-key-bearer', 'api-key-header']);
  });

  it('asks only the first applicable strategy\'s memory: a later one\'s is not consulted before the first has run', async () => {
    const keyMemory = jest.fn(() => apiKeyPrincipal);
    const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], {}, { 'api-key-header': keyMemory });
    const both = call(guard, 'any', { authorization: 'Bearer bad-jwt', 'x-api-key': 'atiru_good' });
    await expect(both.result).resolves.toBe(true);
    expect(both.request.user).toBe(apiKeyPrincipal);
    expect(ran).toEqual(['jwt', 'api-key-bearer', 'api-key-header', 'jwt', 'api-key-bearer', 'api-key-header']);
    expect(keyMemory).not.toHaveBeenCalled();
  });

  it('answers JWT_REQUIRED for an API key known from memory on a JWT-only route, counting nothing', async () => {
    const knownKey = (key: string) => (key === 'atiru_good' ? apiKeyPrincipal : undefined);
    const { guard } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], { RATE_LIMIT_API_KEY: '1/60' }, { 'api-key-header': knownKey });
    expect(() => call(guard, 'jwt', { 'x-api-key': 'atiru_good' }).answer()).toThrow(expect.objectContaining({ code: 'JWT_REQUIRED' }));
    // The one use the key is allowed is still there.
    expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).answer()).toBe(true);
  });

  it('answers JWT_REQUIRED when a valid API key calls a JWT-only route', async () => {
    const { guard } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    const { result, request } = call(guard, 'jwt', { 'x-api-key': 'atiru_good' });
    expect(await code(result)).toBe('JWT_REQUIRED');
    expect(request.user).toBeUndefined();
  });

  it('answers INVALID_OR_EXPIRED_TOKEN, not JWT_REQUIRED, for a bad API key on a JWT-only route', async () => {
    const { guard } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()]);
    expect(await code(call(guard, 'jwt', { 'x-api-key': 'atiru_bad' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('lets a strategy error (the database is down) through untouched', async () => {
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { guard } = setUp([jwt(), new FakeStrategy('api-key-bearer', () => ({ error: outage }))]);
    expect(await rejection(call(guard, 'any', { authorization: 'Bearer atiru_good' }).result)).toBe(outage);
  });

  it('turns an outage reported as a failure (a key lookup) into that error, not a 401', async () => {
    const outage = Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
    const { guard } = setUp([new FakeStrategy('jwt', () => ({ fail: outage }))]);
    expect(await rejection(call(guard, 'any', { authorization: 'Bearer good-jwt' }).result)).toBe(outage);
  });

  it('logs a denial at warn with the client address, path, code and reason, never the credential or the query', async () => {
    const { guard } = setUp([jwt()]);
    await rejection(call(guard, 'any', { authorization: 'Bearer secret-token-value', 'x-test-ip': '198.51.100.7' }).result);
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, fields] = warn.mock.calls[0];
    expect(fields).toEqual({ request_id: undefined, ip: '198.51.100.7', method: 'GET', path: '/probe/any', code: 'INVALID_OR_EXPIRED_TOKEN', reason: 'jwt: invalid signature' });
    expect(message).toBe('denied GET /probe/any: INVALID_OR_EXPIRED_TOKEN');
    expect(JSON.stringify(warn.mock.calls)).not.toContain('secret-token-value');
  });

  describe('failed authentications per client IP', () => {
    it('answers 429 once an address is over the limit, even for a good credential, and other addresses are unaffected', async () => {
      const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], { RATE_LIMIT_AUTH_FAILURE_IP: '3/60' });
      for (let i = 0; i < 3; i++) {
        await expect(call(guard, 'any', { authorization: 'Bearer guess' }).result).rejects.toMatchObject({ code: 'INVALID_OR_EXPIRED_TOKEN' });
      }
      await expect(call(guard, 'any', { authorization: 'Bearer guess' }).result).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        headers: expect.objectContaining({ 'retry-after': expect.stringMatching(/^\d+$/) }),
      });
      ran.length = 0;
      await expect(call(guard, 'any', { authorization: 'Bearer good-jwt' }).result).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      expect(ran).toEqual([]); // refused before any strategy ran
      await expect(call(guard, 'any', { authorization: 'Bearer good-jwt', 'x-test-ip': '192.0.2.2' }).result).resolves.toBe(true);
    });

    it('counts a refused Bearer value as a failure even when an X-Api-Key beside it passes, so a good key does not make guessing free', async () => {
      const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], { RATE_LIMIT_AUTH_FAILURE_IP: '3/60' });
      for (let i = 0; i < 3; i++) {
        ran.length = 0;
        const { result, request } = call(guard, 'any', { authorization: `Bearer atiru_guess${i}`, 'x-api-key': 'atiru_good' });
        await expect(result).resolves.toBe(true);
        expect(request.user).toBe(apiKeyPrincipal);
        // The Bearer value alone first (the JWT strategy, then the key on Bearer), then the key alone.
        expect(ran).toEqual(['jwt', 'api-key-bearer', 'api-key-header', 'jwt', 'api-key-bearer', 'api-key-header']);
      }
      await expect(call(guard, 'any', { authorization: 'Bearer atiru_guess3', 'x-api-key': 'atiru_good' }).result).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      await expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      await expect(call(guard, 'any', { 'x-api-key': 'atiru_good', 'x-test-ip': '192.0.2.2' }).result).resolves.toBe(true);
    });

    it('counts nothing, and reads no X-Api-Key, when the Bearer value beside it passes; counts both when neither does', async () => {
      const { guard, ran } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], { RATE_LIMIT_AUTH_FAILURE_IP: '2/60' });
      for (let i = 0; i < 3; i++) {
        await expect(call(guard, 'any', { authorization: 'Bearer good-jwt', 'x-api-key': 'atiru_wrong' }).result).resolves.toBe(true);
      }
      expect(ran).not.toContain('api-key-header');
      const both = call(guard, 'any', { authorization: 'Bearer forged-jwt', 'x-api-key': 'atiru_wrong' });
      await expect(both.result).rejects.toMatchObject({ code: 'INVALID_OR_EXPIRED_TOKEN' });
      const [, fields] = warn.mock.calls.at(-1) as [string, { reason: string }];
      expect(fields.reason).toMatch(/^jwt: invalid signature; .*api-key-header: unknown key/);
      // Two refused credentials, two failures: the address is at its limit of 2.
      await expect(call(guard, 'any', { authorization: 'Bearer guess' }).result).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    });

    it('limits authenticated traffic per API key', async () => {
      const { guard } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], { RATE_LIMIT_API_KEY: '2/60' });
      await expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
      await expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
      await expect(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      await expect(call(guard, 'any', { authorization: 'Bearer good-jwt' }).result).resolves.toBe(true);
    });
  });

  it('reports each use of a verified credential: admitted, or refused by the route\'s policy or a rate limit; nothing for a bad one', async () => {
    const { guard, uses } = setUp([jwt(), apiKeyBearer(), apiKeyHeader()], { RATE_LIMIT_API_KEY: '1/60', RATE_LIMIT_AUTH_FAILURE_IP: '100/60' });
    const seen: string[] = [];
    uses.listen({ admitted: (principal) => seen.push(`admitted ${principal.method}`), refused: (principal) => seen.push(`refused ${principal.method}`) });
    await call(guard, 'any', { authorization: 'Bearer good-jwt' }).result;
    await call(guard, 'any', { 'x-api-key': 'atiru_good' }).result;
    expect(await code(call(guard, 'any', { 'x-api-key': 'atiru_good' }).result)).toBe('RATE_LIMITED');
    expect(await code(call(guard, 'jwt', { 'x-api-key': 'atiru_good' }).result)).toBe('JWT_REQUIRED');
    expect(await code(call(guard, 'any', { 'x-api-key': 'atiru_bad' }).result)).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(seen).toEqual(['admitted jwt', 'admitted api_key', 'refused api_key', 'refused api_key']);
  });

  describe('scopes and service clients', () => {
    const readOnly: Principal = { ...apiKeyPrincipal, scopes: ['read'] };
    const memory = (principal: Principal): Memory => ({ 'api-key-header': () => principal });

    it('holds a key limited to scopes to what each route needs: declared, else read for GET and write for the rest', async () => {
      const outcomes: Record<string, unknown> = {};
      for (const route of ['any', 'write', 'deploy', 'jwt'] as Route[]) {
        const { guard } = setUp([jwt(), apiKeyHeader()], {}, memory(readOnly));
        outcomes[route] = await call(guard, route, { 'x-api-key': 'atiru_good' }).result.catch((error) => (error instanceof AppError ? error.code : error));
      }
      expect(outcomes).toEqual({ any: true, write: 'INSUFFICIENT_SCOPE', deploy: 'INSUFFICIENT_SCOPE', jwt: 'JWT_REQUIRED' });
      expect(warn).toHaveBeenCalledWith('denied GET /probe/deploy: INSUFFICIENT_SCOPE', expect.objectContaining({ reason: 'API key without scope deploy' }));
    });

    it('leaves keys without scopes and JWTs unlimited', async () => {
      for (const headers of [{ 'x-api-key': 'atiru_good' }, { authorization: 'Bearer good-jwt' }] as Array<Record<string, string>>) {
        const { guard } = setUp([jwt(), apiKeyHeader()]);
        for (const route of ['write', 'deploy'] as Route[]) await expect(call(guard, route, headers).result).resolves.toBe(true);
      }
      const { guard } = setUp([jwt(), apiKeyHeader()], {}, memory({ ...apiKeyPrincipal, scopes: ['deploy', 'write'] }));
      await expect(call(guard, 'deploy', { 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
      await expect(call(guard, 'write', { 'x-api-key': 'atiru_good' }).result).resolves.toBe(true);
    });

    it('admits a configured client on a client route, and nobody else, whatever user credential they bring', async () => {
      const secret = 'a-long-random-secret-0123456789abcdef';
      const clients = new IntrospectionClients(loadConfig({ INTROSPECTION_CLIENTS: `billing:${secret}` }));
      const { guard, ran } = setUp([jwt(), apiKeyHeader()], {}, {}, clients);
      const basic = (id: string, value: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${value}`).toString('base64')}` });
      await expect(call(guard, 'introspect', basic('billing', secret)).result).resolves.toBe(true);
      for (const headers of [{}, basic('billing', 'wrong'), { authorization: 'Bearer good-jwt' }, { 'x-api-key': 'atiru_good' }] as Array<Record<string, string>>) {
        const error = await rejection(call(guard, 'introspect', headers).result);
        expect(error).toMatchObject({ code: 'INVALID_CLIENT', headers: { 'www-authenticate': 'Basic realm="atiru-introspection", charset="UTF-8"' } });
      }
      expect(ran).toEqual([]);
      const withoutClients = setUp([jwt()]).guard;
      expect(await code(call(withoutClients, 'introspect', basic('billing', secret)).result)).toBe('INVALID_CLIENT');
    });

    it('counts a wrong client secret as a failed authentication, so secrets cannot be guessed at speed, and blocks the address from then on', async () => {
      const secret = 'a-long-random-secret-0123456789abcdef';
      const clients = new IntrospectionClients(loadConfig({ INTROSPECTION_CLIENTS: `billing:${secret}` }));
      const { guard } = setUp([jwt()], { RATE_LIMIT_AUTH_FAILURE_IP: '2/60' }, {}, clients);
      const basic = (value: string) => ({ authorization: `Basic ${Buffer.from(`billing:${value}`).toString('base64')}` });
      expect(await code(call(guard, 'introspect', basic('guess-1')).result)).toBe('INVALID_CLIENT');
      expect(await code(call(guard, 'introspect', basic('guess-2')).result)).toBe('INVALID_CLIENT');
      expect(await code(call(guard, 'introspect', basic('guess-3')).result)).toBe('RATE_LIMITED');
      // Refused before its credentials are read, the right secret included; another address is not.
      expect(await code(call(guard, 'introspect', basic(secret)).result)).toBe('RATE_LIMITED');
      await expect(call(guard, 'introspect', { ...basic(secret), 'x-test-ip': '192.0.2.2' }).result).resolves.toBe(true);
      // No credentials at all is not a guess.
      for (let i = 0; i < 3; i++) expect(await code(call(guard, 'introspect', { 'x-test-ip': '192.0.2.3' }).result)).toBe('INVALID_CLIENT');
    });
  });
});
