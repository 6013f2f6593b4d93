import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { IsOptional, IsString } from 'class-validator';
import { Public } from '../../src/common/auth/auth-policy.decorator';
import { AppError } from '../../src/common/errors/app-error';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '../../src/api-keys/api-key-format';
import { RateLimit } from '../../src/rate-limit/rate-limit.decorator';
import { RateLimiterService, USE_MERGE_INTERVAL_MS } from '../../src/rate-limit/rate-limiter.service';
import { INCREMENTS_PER_CALL, REDIS_COMMAND_TIMEOUT_MS, RedisRateLimitStore } from '../../src/rate-limit/redis-rate-limit-store';
import { createConfirmedUser, uniqueEmail } from '../support/accounts';
import { freePort } from '../support/free-port';
import { TestRedisServer } from '../support/redis-server';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { signedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp } from '../support/test-app';
import { sleep, waitUntil } from '../support/wait';
import { statusesInTurn, statusesOf } from '../support/rate-limits';
import type { Principal } from '../../src/common/auth/principal';
import { loadConfig } from '../../src/config/app-config';

class ProbeBody {
  @IsOptional()
  @IsString()
  email?: string;

  @IsOptional()
  @IsString()
  password?: string;
}

/** Routes carrying each rate-limit rule, in front of the real interceptor, pipe and filter. */
@Controller('probe')
class LimitedProbeController {
  @Post('login')
  @Public()
  @HttpCode(200)
  @RateLimit('login')
  login(@Body() body: ProbeBody) {
    if (body.password !== 'right') throw new AppError('INVALID_CREDENTIALS', 'Invalid email or password');
    return { ok: true };
  }

  @Post('mail')
  @Public()
  @HttpCode(200)
  @RateLimit('mail')
  mail(@Body() _body: ProbeBody) {
    return { ok: true };
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @RateLimit('refresh')
  refresh() {
    return { ok: true };
  }
}

@Module({ controllers: [LimitedProbeController] })
class LimitedProbeModule {}

const LIMITS = {
  RATE_LIMIT_LOGIN_IP: '1000/60',
  RATE_LIMIT_LOGIN_IP_EMAIL: '10/60',
  RATE_LIMIT_MAIL_IP: '1000/60',
  RATE_LIMIT_MAIL_IP_EMAIL: '3/60',
  RATE_LIMIT_REFRESH_IP: '4/2',
  RATE_LIMIT_API_KEY: '3/60',
  RATE_LIMIT_CONFIRM_TOKEN: '3/60',
  FAILED_LOGIN_COST: '5',
  TRUST_PROXY: 'true',
};

const from = (ip: string) => ({ 'x-forwarded-for': ip });
/** A refresh counts only when it presents a token (the probe route looks at nothing). */
const PRESENTED_REFRESH = { refresh_token: 'presented' };

const PASSWORD = 'correct horse battery staple';
const BILLING_SECRET = 'billing-secret-0123456789-abcdefghijklmnop';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/**
 * Calls `/users/me` with a new API key until the per-key limit (3 a minute) refuses it: the first
 * call runs the passport strategy, the next ones are decided from memory; both count, and the
 * refusal has the contract's shape.
 */
async function expectKeyLimited(service: TestApp, email: string): Promise<void> {
  const user = await signedInUser(service.app, email);
  const created = await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'limited' } });
  const headers = { 'x-api-key': created.body.key };
  expect(await statusesOf(3, () => service.request('GET', '/users/me', { headers }))).toEqual([200, 200, 200]);
  const limited = await service.request('GET', '/users/me', { headers });
  expect(limited.status).toBe(429);
  expect(limited.body).toMatchObject({ statusCode: 429, request_id: expect.any(String), code: 'RATE_LIMITED' });
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
}

/**
 * A reader of a figure Redis reports in one section of INFO, its own read included where it
 * counts; `close()` ends its connection.
 */
async function redisInfoReader(url: string, section: string, figure: (info: string) => number): Promise<(() => Promise<number>) & { close(): Promise<void> }> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const read = async () => figure(await client.info(section));
  return Object.assign(read, { close: async () => void (await client.quit()) });
}

/** The commands Redis has processed. */
const redisCommandCounter = (url: string) => redisInfoReader(url, 'stats', (info) => Number(/total_commands_processed:(\d+)/.exec(info)![1]));

/** The script calls (EVALSHA and EVAL) Redis has processed. */
const redisScriptCallCounter = (url: string) =>
  redisInfoReader(url, 'commandstats', (info) => {
    const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    return calls('evalsha') + calls('eval');
  });

/** Waits until `service` counts in Redis again: fail-open answers carry no rate-limit headers. */
async function untilCountedInRedis(service: TestApp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const response = await service.request('POST', '/probe/mail', { body: { email: `back-${i}@x.test` }, headers: from('203.0.113.79') });
    if (response.headers.get('ratelimit-limit') !== null) return;
    if (Date.now() > deadline) throw new Error(`the service did not reconnect to Redis within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('rate limits (in memory)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: LIMITS, extraModules: [LimitedProbeModule], undocumentedPaths: ['/probe'] });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('counts a failed login five times a successful one, and answers 429 with its headers', async () => {
    const ip = from('203.0.113.1');
    const ok = await service.request('POST', '/probe/login', { body: { email: 'A@x.test', password: 'right' }, headers: ip });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-limit')).toBe('10');
    expect(ok.headers.get('ratelimit-remaining')).toBe('9');
    expect(Number(ok.headers.get('ratelimit-reset'))).toBeGreaterThan(0);

    // 1 + 5: the failure costs five units in all
    const failed = await service.request('POST', '/probe/login', { body: { email: 'a@x.test', password: 'wrong' }, headers: ip });
    expect(failed.status).toBe(401);
    const after = await service.request('POST', '/probe/login', { body: { email: ' a@X.test ', password: 'right' }, headers: ip });
    expect(after.headers.get('ratelimit-remaining')).toBe('3');
    await service.request('POST', '/probe/login', { body: { email: 'a@x.test', password: 'wrong' }, headers: ip });

    const limited = await service.request('POST', '/probe/login', { body: { email: 'a@x.test', password: 'right' }, headers: ip });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, request_id: expect.any(String), code: 'RATE_LIMITED', error: expect.stringMatching(/retry/i) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit-limit')).toBe('10');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');

    // Another email from the same address, and the same email from another address, are not held back.
    expect((await service.request('POST', '/probe/login', { body: { email: 'b@x.test', password: 'right' }, headers: ip })).status).toBe(200);
    expect((await service.request('POST', '/probe/login', { body: { email: 'a@x.test', password: 'right' }, headers: from('203.0.113.2') })).status).toBe(200);
  });

  it('limits mail per client address and target email, never per target email alone', async () => {
    const attacker = from('198.51.100.1');
    for (let i = 0; i < 3; i++) {
      const response = await service.request('POST', '/probe/mail', { body: { email: 'victim@x.test' }, headers: attacker });
      expect([i, response.status]).toEqual([i, 200]);
    }
    const limited = await service.request('POST', '/probe/mail', { body: { email: 'VICTIM@x.test' }, headers: attacker });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    // The same address from anywhere else, and another address from the same client, are not held back.
    expect((await service.request('POST', '/probe/mail', { body: { email: 'victim@x.test' }, headers: from('198.51.100.2') })).status).toBe(200);
    expect((await service.request('POST', '/probe/mail', { body: { email: 'other@x.test' }, headers: attacker })).status).toBe(200);
  });

  it('limits authenticated requests per API key, also those decided from memory', async () => {
    await expectKeyLimited(service, 'key-limit@x.test');
  });

  it('resets when the window ends', async () => {
    const ip = from('192.0.2.50');
    for (let i = 0; i < 4; i++) expect((await service.request('POST', '/probe/refresh', { headers: ip, body: PRESENTED_REFRESH })).status).toBe(200);
    const limited = await service.request('POST', '/probe/refresh', { headers: ip, body: PRESENTED_REFRESH });
    expect(limited.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(limited.headers.get('retry-after')) * 1000 + 100));
    const again = await service.request('POST', '/probe/refresh', { headers: ip, body: PRESENTED_REFRESH });
    expect(again.status).toBe(200);
    expect(again.headers.get('ratelimit-remaining')).toBe('3');
  });
});

describe('rate limits in memory, each limit bounded on its own', () => {
  const BOUND = 20;
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...LIMITS, RATE_LIMIT_MEMORY_KEYS: String(BOUND) } });
  });

  afterAll(async () => {
    await service?.close();
  });

  /** Where a confirmation link opened with `token` lands (its `error_code`), and the limit its answer announces: none when it counted nothing. */
  const opened = async (token: string) => {
    const answer = await service.request('GET', `/auth/confirm?token=${encodeURIComponent(token)}`, { headers: from('198.51.100.60') });
    expect(answer.status).toBe(302);
    return [new URL(answer.headers.get('location')!).searchParams.get('error_code'), answer.headers.get('ratelimit-limit')];
  };

  it('keeps a client refused for wrong logins refused after a flood of made-up confirmation tokens larger than the bound', async () => {
    const wrongLogin = () => service.request('POST', '/auth/login', { body: { email: 'nobody@x.test', password: 'a wrong password' }, headers: from('203.0.113.60') });
    // 10 a minute per (address, email), a wrong password costing 5: 6, then 12.
    expect(await statusesOf(3, wrongLogin)).toEqual([401, 401, 429]);

    for (let i = 0; i < 3 * BOUND; i++) expect(await opened(randomBytes(32).toString('base64url'))).toEqual(['INVALID_REQUEST', '3']);

    const after = await wrongLogin();
    expect(after.status).toBe(429);
    expect(after.body.code).toBe('RATE_LIMITED');
  });

  it('counts only tokens shaped like the ones it mails: any other value is refused as before and spends nothing', async () => {
    for (const token of ['a1', 'one-token', 'A'.repeat(42), `${'A'.repeat(42)}=`, 'A'.repeat(44)]) {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await opened(token));
      expect([token, answers]).toEqual([token, Array(4).fill(['INVALID_REQUEST', null])]);
    }
    const shaped = randomBytes(32).toString('base64url');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await opened(shaped))[0]);
    expect(answers).toEqual(['INVALID_REQUEST', 'INVALID_REQUEST', 'INVALID_REQUEST', 'RATE_LIMITED']);
  });
});

describe('client address', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...LIMITS, TRUST_PROXY: 'false' }, extraModules: [LimitedProbeModule], undocumentedPaths: ['/probe'] });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('ignores X-Forwarded-For unless the proxy is trusted', async () => {
    for (let i = 0; i < 4; i++) await service.request('POST', '/probe/refresh', { headers: from(`10.0.0.${i}`), body: PRESENTED_REFRESH });
    expect((await service.request('POST', '/probe/refresh', { headers: from('10.0.0.99'), body: PRESENTED_REFRESH })).status).toBe(429);
  });
});

describe('failed authentications beside a good API key', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...LIMITS, RATE_LIMIT_API_KEY: '1000/60', RATE_LIMIT_AUTH_FAILURE_IP: '3/60', INTROSPECTION_CLIENTS: `billing:${BILLING_SECRET}` } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('counts each refused Bearer guess against the address though the X-Api-Key beside it lets the request through', async () => {
    const user = await signedInUser(service.app, 'guesser@x.test');
    const { key } = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'own' } })).body;
    const guessing = (ip: string) => ({ ...from(ip), authorization: `Bearer ${generateApiKey().key}`, 'x-api-key': key });
    expect(await statusesOf(3, () => service.request('GET', '/users/me', { headers: guessing('203.0.113.60') }))).toEqual([200, 200, 200]);
    const limited = await service.request('GET', '/users/me', { headers: guessing('203.0.113.60') });
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    // The address is refused any credential the instance has not verified before; the key itself is not held back elsewhere.
    const { key: unseen } = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'unseen' } })).body;
    expect((await service.request('GET', '/users/me', { headers: { ...from('203.0.113.60'), 'x-api-key': unseen } })).status).toBe(429);
    expect((await service.request('GET', '/users/me', { headers: { ...from('203.0.113.61'), 'x-api-key': key } })).status).toBe(200);
  });

  it('still admits, from a blocked address, the credentials the instance verified before: the block stops guessing, not those who share the address', async () => {
    const user = await signedInUser(service.app, 'behind-nat@x.test');
    const { key } = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'ci' } })).body;
    const shared = from('203.0.113.62');
    expect((await service.request('GET', '/users/me', { headers: { ...shared, 'x-api-key': key } })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: { ...shared, ...user.jwt } })).status).toBe(200);
    const guess = () => service.request('GET', '/users/me', { headers: { ...shared, 'x-api-key': generateApiKey().key } });
    expect(await statusesOf(4, guess)).toEqual([401, 401, 401, 429]);

    const answers = await Promise.all([
      service.request('GET', '/users/me', { headers: { ...shared, 'x-api-key': key } }),
      service.request('GET', '/users/me', { headers: { ...shared, authorization: `Bearer ${key}` } }),
      service.request('GET', '/users/me', { headers: { ...shared, ...user.jwt } }),
      service.request('GET', '/users/me', { headers: { ...shared, 'x-api-key': generateApiKey().key } }),
      service.request('GET', '/users/me', { headers: shared }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
    expect(answers[0].body.email).toBe('behind-nat@x.test');
  });
  it('still admits, from a blocked address, an introspection client the instance verified before; a wrong secret and an unseen client are refused', async () => {
    const user = await signedInUser(service.app, 'introspected@x.test');
    const { key } = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'gateway' } })).body;
    const shared = from('203.0.113.63');
    const introspect = (authorization: string) =>
      service.request('POST', '/auth/introspect', {
        headers: { ...shared, authorization, 'content-type': 'application/x-www-form-urlencoded' },
        raw: new URLSearchParams({ token: key }).toString(),
      });
    const first = await introspect(basic('billing', BILLING_SECRET));
    expect([first.status, first.body.active]).toEqual([200, true]);
    const guess = () => service.request('GET', '/users/me', { headers: { ...shared, 'x-api-key': generateApiKey().key } });
    expect(await statusesOf(4, guess)).toEqual([401, 401, 401, 429]);

    const again = await introspect(basic('billing', BILLING_SECRET));
    expect([again.status, again.body.active, again.body.sub]).toEqual([200, true, user.id]);
    expect((await introspect(basic('billing', 'wrong-secret-0123456789-abcdefghijklmnop'))).status).toBe(429);
    expect((await introspect(basic('reports', BILLING_SECRET))).status).toBe(429);
  });
});

describe("requests any web page can have its visitors' browsers send", () => {
  let service: TestApp;
  const TIGHT = {
    RATE_LIMIT_LOGIN_IP: '3/60',
    RATE_LIMIT_MAIL_IP: '3/60',
    RATE_LIMIT_REFRESH_IP: '3/60',
    RATE_LIMIT_RESET_IP: '3/60',
    RATE_LIMIT_CONFIRM_IP: '3/60',
    RATE_LIMIT_AUTH_FAILURE_IP: '3/60',
  };

  beforeAll(async () => {
    service = await startTestApp({ env: { ...LIMITS, ...TIGHT } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('spend none of the limits of the address they come from: a POST with no body and no header of its own presents nothing to check', async () => {
    const email = uniqueEmail('visitor');
    await createConfirmedUser(service, email, PASSWORD);
    const visitor = from('203.0.113.90');
    // What a page on another origin can send without a CORS preflight: a POST, no body, no header of the API's own.
    for (const path of ['/auth/login', '/auth/register', '/auth/resend-confirmation', '/auth/forgot-password', '/auth/reset-password', '/auth/confirm', '/auth/refresh', '/auth/api-keys/leaks']) {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await service.request('POST', path, { headers: visitor })).status);
      expect({ path, statuses }).toEqual({ path, statuses: expect.not.arrayContaining([429]) });
    }

    // Everyone behind the address still signs in, refreshes, asks for mail and uses a token this instance has not seen.
    const signedIn = await service.request('POST', '/auth/login', { headers: visitor, body: { email, password: PASSWORD } });
    expect(signedIn.status).toBe(200);
    const refreshed = await service.request('POST', '/auth/refresh', { headers: visitor, body: { refresh_token: signedIn.body.session.refresh_token } });
    expect(refreshed.status).toBe(200);
    const me = await service.request('GET', '/users/me', { headers: { ...visitor, authorization: `Bearer ${refreshed.body.session.access_token}` } });
    expect([me.status, me.body.email]).toEqual([200, email]);
    expect((await service.request('POST', '/auth/forgot-password', { headers: visitor, body: { email } })).status).toBe(200);
    expect((await service.request('POST', '/auth/reset-password', { headers: visitor, body: { token: 'A'.repeat(43), password: 'a new password, long' } })).status).toBe(400);
    expect((await service.request('POST', '/auth/confirm', { headers: visitor, body: { token: 'A'.repeat(43) } })).status).toBe(400);

    // A request that presents something to check is counted as ever: a wrong password costs FAILED_LOGIN_COST.
    expect((await service.request('POST', '/auth/login', { headers: visitor, body: { email, password: 'not the password' } })).status).toBe(401);
    expect((await service.request('POST', '/auth/login', { headers: visitor, body: { email, password: PASSWORD } })).status).toBe(429);
  });
});

describe('rate limits in Redis', () => {
  const redis = new TestRedisServer();
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    await redis.start();
    database = await createTestDatabase();
    const env = { ...LIMITS, REDIS_URL: redis.url };
    first = await startTestApp({ env, database, extraModules: [LimitedProbeModule], undocumentedPaths: ['/probe'] });
    second = await startTestApp({ env, database, extraModules: [LimitedProbeModule], undocumentedPaths: ['/probe'] });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
    await redis.stop();
  });

  it('shares one count between two instances', async () => {
    const body = { email: 'shared@x.test' };
    const ip = from('203.0.113.77');
    expect((await first.request('POST', '/probe/mail', { body, headers: ip })).status).toBe(200);
    expect((await second.request('POST', '/probe/mail', { body, headers: ip })).status).toBe(200);
    const third = await first.request('POST', '/probe/mail', { body, headers: ip });
    expect(third.status).toBe(200);
    expect(third.headers.get('ratelimit-remaining')).toBe('0');
    const limited = await second.request('POST', '/probe/mail', { body, headers: ip });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
  });

  it('counts a confirmation link\'s opens on each instance, never in Redis: a flood of made-up tokens leaves no key there', async () => {
    const reader = new Redis(redis.url);
    try {
      const opened = async (instance: TestApp, token: string) => {
        const answer = await instance.request('GET', `/auth/confirm?token=${token}`, { headers: from('198.51.100.7') });
        return new URL(answer.headers.get('location') ?? 'http://x/').searchParams.get('error_code');
      };
      const madeUp = () => randomBytes(32).toString('base64url');
      for (let i = 0; i < 20; i++) expect(await opened(first, madeUp())).toBe('INVALID_REQUEST');
      expect(await reader.keys('atiru:rl:*confirm*')).toEqual([]);
      // Still limited per token, on each instance: 3 a minute here.
      const token = madeUp();
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await opened(first, token));
      expect(answers).toEqual(['INVALID_REQUEST', 'INVALID_REQUEST', 'INVALID_REQUEST', 'RATE_LIMITED']);
      expect(await opened(second, token)).toBe('INVALID_REQUEST');
    } finally {
      reader.disconnect();
    }
  });

  it('limits authenticated requests per API key, counted in memory and merged into Redis', async () => {
    await expectKeyLimited(first, 'key-limit-redis@x.test');
  });

  it('counts authenticated uses without a Redis command per request', async () => {
    const user = await signedInUser(first.app, 'no-round-trip@x.test');
    const commands = await redisCommandCounter(redis.url);
    const requests = 100;
    try {
      const before = await commands();
      for (let i = 0; i < requests; i++) expect((await first.request('GET', '/users/me', { headers: user.jwt })).status).toBe(200);
      // Counting in Redis per request sent at least one command each; merging sends one per key
      // and interval, however many requests the interval saw.
      expect((await commands()) - before).toBeLessThan(requests / 2);
    } finally {
      await commands.close();
    }
  });

  it('tells when both of a store\'s connections are up, and gives up waiting at its limit when Redis is not there', async () => {
    const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'atiru:connect-test:' });
    const nowhere = new RedisRateLimitStore({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'atiru:connect-test:' });
    try {
      expect(await store.connected(5_000)).toBe(true);
      // Up: its first count is taken, not failed open.
      expect((await store.increment('probe', 'first', 1, 60_000)).count).toBe(1);
      const started = Date.now();
      expect(await nowhere.connected(300)).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await store.close();
      await nowhere.close();
    }
  });

  it('takes a count given back only from a counter that exists, never below zero, and keeps its window', async () => {
    const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'atiru:give-back-test:' });
    try {
      // Connected: commands are not queued before that.
      await waitUntil(() => store.increment('probe', 'ready', 0, 1_000).then(() => true, () => false), 'the store to connect');
      // A counter gone (its window ended, or evicted): giving back creates nothing.
      expect((await store.increment('mail', 'gone', -1, 60_000)).count).toBe(0);
      expect((await store.increment('mail', 'gone', 1, 60_000)).count).toBe(1);
      // Spent, given back to zero, spent again: the same window, not a new one.
      const first = await store.increment('mail', 'kept', 1, 2_000);
      expect((await store.increment('mail', 'kept', -3, 2_000)).count).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const again = await store.increment('mail', 'kept', 1, 2_000);
      expect(again.count).toBe(1);
      expect(again.resetAtMs).toBeLessThan(first.resetAtMs + 250);
    } finally {
      await store.close();
    }
  });

  it('shares a key\'s limit between instances through merged counts', async () => {
    const user = await signedInUser(first.app, 'key-merged@x.test');
    const created = await first.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'merged' } });
    const headers = { 'x-api-key': created.body.key };
    const me = (service: TestApp) => service.request('GET', '/users/me', { headers });
    // Two uses on the first instance, one on the second: three in all, the limit.
    expect([(await me(first)).status, (await me(first)).status, (await me(second)).status]).toEqual([200, 200, 200]);
    // Once both have merged, the one that merged last knows all three uses and refuses a fourth;
    // the other may admit one more on its older view (the bound: one interval's uses).
    const merged = () => new Promise((resolve) => setTimeout(resolve, 3 * USE_MERGE_INTERVAL_MS));
    await merged();
    expect([(await me(first)).status, (await me(second)).status]).toContain(429);
    // After the next merge, every instance refuses.
    await merged();
    for (const service of [first, second]) {
      const limited = await me(service);
      expect({ status: limited.status, code: limited.body.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    }
  });

  it('fails open, logging at error, while Redis is down, and counts in Redis again once it is back', async () => {
    await redis.stop();
    try {
      const ip = from('203.0.113.78');
      for (let i = 0; i < 6; i++) {
        const response = await first.request('POST', '/probe/mail', { body: { email: 'open@x.test' }, headers: ip });
        expect(response.status).toBe(200);
      }
      // Nest's Logger is process-wide: with two apps in one process, lines reach the last one's capture.
      const errors = [...first.logs.entries(), ...second.logs.entries()].filter((entry) => entry.level === 50 && /rate-limit store unavailable/.test(entry.msg));
      expect(errors.length).toBeGreaterThanOrEqual(1);
    } finally {
      // End the outage before afterAll closes the apps: ioredis's disconnect() on a client that is
      // still reconnecting arms a 2 s timer (its disconnectTimeout) that nothing clears, which keeps
      // the Jest worker alive after the suite and gets it force-exited.
      await redis.start();
      await untilCountedInRedis(first);
      await untilCountedInRedis(second);
    }
  });

  it('with Redis frozen, a request waits for it at most a few milliseconds, and the limits are shared again once it thaws', async () => {
    const batch = async (label: string) => {
      const timings: number[] = [];
      for (let i = 0; i < 40; i++) {
        const started = performance.now();
        const response = await first.request('POST', '/probe/mail', { body: { email: `${label}-${i}@x.test` }, headers: from('203.0.113.80') });
        timings.push(performance.now() - started);
        expect(response.status).toBe(200);
      }
      return timings.sort((a, b) => a - b);
    };
    const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)];
    // The same requests with Redis answering: what this machine takes for them now.
    const healthy = await batch('healthy');
    redis.freeze();
    let frozen: number[];
    try {
      frozen = await batch('frozen');
      // Fail open, and the breaker is open: Redis is not even asked any more.
      expect(first.app.get(RateLimiterService).sharedStoreAvailable).toBe(false);
    } finally {
      redis.thaw();
    }
    // Only the requests that opened the breaker waited, each at most the command timeout per
    // counter (two for this rule); the others as long as with Redis answering. Without the
    // breaker and the short timeout, every one of them waited for two 250 ms timeouts.
    expect(frozen[frozen.length - 1]).toBeLessThan(Math.max(healthy[healthy.length - 1], 2 * REDIS_COMMAND_TIMEOUT_MS) + 150);
    expect(median(frozen)).toBeLessThan(median(healthy) + REDIS_COMMAND_TIMEOUT_MS / 2);

    await untilCountedInRedis(first);
    await untilCountedInRedis(second);
    expect(first.app.get(RateLimiterService).sharedStoreAvailable).toBe(true);
    // One count between the two instances again: 3 a minute per client address and email.
    const body = { email: 'thawed@x.test' };
    const ip = from('203.0.113.81');
    const mail = (service: TestApp) => service.request('POST', '/probe/mail', { body, headers: ip });
    expect(await statusesInTurn([first, second, first, second], mail)).toEqual([200, 200, 200, 429]);
  });
});

describe('use-count merges in Redis', () => {
  const redis = new TestRedisServer();
  let reader: Redis;

  beforeAll(async () => {
    await redis.start();
    reader = new Redis(redis.url);
  });

  afterAll(async () => {
    reader?.disconnect();
    await redis.stop();
  });

  const principal = (userId: string) => ({ user: { id: userId }, method: 'jwt' }) as unknown as Principal;
  const countInRedis = async (key: string) => Number(await reader.get(key));

  it('never sends again uses whose merge Redis answered too late, though it counted them', async () => {
    const limiter = new RateLimiterService(loadConfig({ NODE_ENV: 'test', REDIS_URL: redis.url }));
    try {
      // Until the merges' connection is up, a merge sends nothing and keeps its uses.
      limiter.countUse(principal('warm-up'));
      await waitUntil(async () => (await limiter.mergeUses(), (await countInRedis('atiru:rl:user:warm-up')) === 1), 'a merge to reach Redis');

      limiter.countUse(principal('late'));
      limiter.countUse(principal('late'));
      redis.freeze();
      try {
        await limiter.mergeUses();
      } finally {
        redis.thaw();
      }
      // Thawed, Redis runs the merge that waited: both uses are counted, once.
      await waitUntil(async () => (await countInRedis('atiru:rl:user:late')) === 2, 'Redis to count the late merge');

      limiter.countUse(principal('late'));
      await limiter.mergeUses();
      expect(await countInRedis('atiru:rl:user:late')).toBe(3);
    } finally {
      await limiter.onApplicationShutdown();
    }
  });

  it('merges thousands of keys in short script calls: the counts requests make meanwhile are answered while it runs', async () => {
    const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'atiru:large-merge:' });
    try {
      const one = [{ scope: 'user', key: 'warm-up', cost: 1, windowMs: 60_000 }];
      await waitUntil(() => store.incrementMany(one).then((answers) => !(answers[0] instanceof Error), () => false), 'the merges\' connection');
      const increments = Array.from({ length: 20_000 }, (_, i) => ({ scope: 'user', key: `u${i}`, cost: 1, windowMs: 60_000 }));
      let merging = true;
      const merge = store.incrementMany(increments).finally(() => (merging = false));
      // Redis runs nothing else while a script runs: in one call of every key, the merge would hold
      // each request beyond REDIS_COMMAND_TIMEOUT_MS, and it would fail open. In calls of
      // INCREMENTS_PER_CALL, each is answered while the merge still runs; a stall of this shared
      // machine may still time one out, so not all of them are required to count.
      const requests: Array<{ answer: string; duringMerge: boolean }> = [];
      for (let i = 0; i < 10; i++) {
        await sleep(5);
        const answer = await store.increment('login_ip', 'during-merge', 1, 60_000).then(() => 'counted', (error: Error) => error.message);
        requests.push({ answer, duringMerge: merging });
      }
      const answers = await merge;
      expect(requests[0]).toEqual({ answer: 'counted', duringMerge: true });
      expect(requests.filter((request) => request.answer === 'counted').length).toBeGreaterThan(requests.length / 2);
      expect(store.available).toBe(true);
      expect(answers.filter((answer) => answer instanceof Error)).toEqual([]);
      expect([await countInRedis('atiru:large-merge:rl:user:u0'), await countInRedis('atiru:large-merge:rl:user:u19999')]).toEqual([1, 1]);
    } finally {
      await store.close();
    }
  });

  // Here, where no app's merge timer sends script calls to the same Redis while they are counted.
  it('merges the counts of many keys in one script call per INCREMENTS_PER_CALL keys, each key counted in its own window', async () => {
    const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'atiru:merge-test:' });
    const scriptCalls = await redisScriptCallCounter(redis.url);
    try {
      // The merges' connection is up (nothing is queued before it is), and knows the script.
      const one = [{ scope: 'user', key: 'warm-up', cost: 1, windowMs: 60_000 }];
      await waitUntil(() => store.incrementMany(one).then((answers) => !(answers[0] instanceof Error), () => false), 'the merges\' connection');
      const increments = Array.from({ length: INCREMENTS_PER_CALL * 2 + 1 }, (_, i) => ({ scope: 'user', key: `u${i}`, cost: (i % 3) + 1, windowMs: 60_000 + i }));
      const before = await scriptCalls();
      const started = Date.now();
      const firstAnswers = await store.incrementMany(increments);
      // Three calls, one per INCREMENTS_PER_CALL keys.
      expect((await scriptCalls()) - before).toBe(3);
      expect(firstAnswers.map((answer) => (answer as { count: number }).count)).toEqual(increments.map(({ cost }) => cost));
      firstAnswers.forEach((answer, i) => {
        const { resetAtMs } = answer as { resetAtMs: number };
        expect(resetAtMs - started).toBeGreaterThan(increments[i].windowMs - 5_000);
        expect(resetAtMs - started).toBeLessThanOrEqual(increments[i].windowMs + 1_000);
      });
      const secondAnswers = await store.incrementMany(increments);
      expect(secondAnswers.map((answer) => (answer as { count: number }).count)).toEqual(increments.map(({ cost }) => 2 * cost));
    } finally {
      await scriptCalls.close();
      await store.close();
    }
  });
});
