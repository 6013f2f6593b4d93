import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, uniqueEmail } from '../support/accounts';
import { TestRedisServer } from '../support/redis-server';
import { signedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp } from '../support/test-app';
import { mergedUses, statusesOf } from '../support/rate-limits';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const PASSWORD = 'correct horse battery staple';
const from = (ip: string) => ({ 'x-forwarded-for': ip });
const WRONG_BEARER = { authorization: 'Bearer not-a-token' };

/** A prefix no other test, nor anything else in that Redis, uses. */
const uniquePrefix = (label: string) => `atiru:${label}-${randomBytes(4).toString('hex')}:`;

/** Every key in Redis, as `redis-cli --scan` lists them. */
async function allKeys(reader: Redis): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of reader.scanStream({ count: 1000 })) keys.push(...(batch as string[]));
  return keys.sort();
}

describe('Redis keys under REDIS_KEY_PREFIX', () => {
  const redis = new TestRedisServer();
  let reader: Redis;
  let database: TestDatabase;
  const started: TestApp[] = [];
  /** What another service, and a deployment of the release before the prefix, keep in the same Redis. */
  const others = { 'billing:session:42': 'theirs', 'atiru:rl:auth_failure_ip:203.0.113.50': '1000' };

  const start = async (env: Record<string, string>) => {
    const service = await startTestApp({ env: { TRUST_PROXY: 'true', REDIS_URL: redis.url, ...env }, database });
    started.push(service);
    return service;
  };

  beforeAll(async () => {
    await redis.start();
    reader = new Redis(redis.url);
    for (const [key, value] of Object.entries(others)) await reader.set(key, value);
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const service of started) await service.close();
    reader?.disconnect();
    await database?.drop();
    await redis.stop();
  });

  it('starts every key the service writes with the prefix: route limits, failed authentications and merged uses alike', async () => {
    const prefix = uniquePrefix('all-keys');
    const service = await start({ ...GENEROUS_RATE_LIMITS, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_AUTH_FAILURE_IP: '2/60' });
    const ip = from('203.0.113.50');
    const email = uniqueEmail('prefixed');
    await createConfirmedUser(service, email, PASSWORD);
    expect((await service.request('POST', '/auth/login', { body: { email, password: 'wrong' }, headers: ip })).status).toBe(401);
    const { session } = await login(service, email, PASSWORD, ip);
    expect((await service.request('POST', '/auth/refresh', { body: { refresh_token: session.refresh_token }, headers: ip })).status).toBe(200);
    expect((await service.request('POST', '/auth/forgot-password', { body: { email }, headers: ip })).status).toBe(200);
    expect((await service.request('POST', '/auth/reset-password', { body: { token: 'made-up', password: PASSWORD }, headers: ip })).status).toBe(400);
    expect((await service.request('POST', '/auth/confirm', { body: { token: 'made-up' }, headers: ip })).status).toBe(400);
    const jwt = { authorization: `Bearer ${session.access_token}` };
    const created = await service.request('POST', '/auth/api-keys', { headers: jwt, body: { name: 'prefixed' } });
    expect(created.status).toBe(201);
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': created.body.key } })).status).toBe(200);
    await mergedUses(service);
    // Blocked after two failures here, though the earlier release's count for the address is far over.
    const failures = [];
    for (let i = 0; i < 3; i++) failures.push((await service.request('GET', '/users/me', { headers: { ...WRONG_BEARER, ...ip } })).status);
    expect(failures).toEqual([401, 401, 429]);

    const written = (await allKeys(reader)).filter((key) => !(key in others));
    expect(written.filter((key) => !key.startsWith(prefix))).toEqual([]);
    const policies = [...new Set(written.map((key) => key.slice(prefix.length).split(':')[1]))].sort();
    expect(policies).toEqual(['api_key', 'auth_failure_ip', 'confirm_ip', 'key_change_user', 'login_ip', 'login_ip_email', 'mail_ip', 'mail_ip_email', 'refresh_ip', 'reset_ip', 'reset_token', 'user']);
    expect(await reader.mget(Object.keys(others))).toEqual(Object.values(others));
  });

  it('keeps the names of the release before the setting by default, so both share counts during a rolling deploy', async () => {
    const service = await start({ RATE_LIMIT_AUTH_FAILURE_IP: '3/60' });
    const ip = '203.0.113.51';
    expect((await service.request('GET', '/users/me', { headers: { ...WRONG_BEARER, ...from(ip) } })).status).toBe(401);
    expect(await reader.get(`atiru:rl:auth_failure_ip:${ip}`)).toBe('1');
    await reader.del(`atiru:rl:auth_failure_ip:${ip}`);
  });

  it('counts two deployments with different prefixes apart, and the instances of one deployment together', async () => {
    const limits = { RATE_LIMIT_AUTH_FAILURE_IP: '3/60', RATE_LIMIT_LOGIN_IP_EMAIL: '10/60', FAILED_LOGIN_COST: '5', RATE_LIMIT_API_KEY: '3/60' };
    const stagingPrefix = uniquePrefix('staging');
    const staging = await start({ ...limits, REDIS_KEY_PREFIX: stagingPrefix });
    const stagingToo = await start({ ...limits, REDIS_KEY_PREFIX: stagingPrefix });
    const production = await start({ ...limits, REDIS_KEY_PREFIX: uniquePrefix('production') });

    // Failed authentications: staging blocks the address; production still only counts it.
    const guess = (service: TestApp) => () => service.request('GET', '/users/me', { headers: { ...WRONG_BEARER, ...from('203.0.113.60') } });
    expect(await statusesOf(4, guess(staging))).toEqual([401, 401, 401, 429]);
    expect(await statusesOf(1, guess(stagingToo))).toEqual([429]);
    expect(await statusesOf(4, guess(production))).toEqual([401, 401, 401, 429]);

    // Logins for one address from one client: a wrong password costs 5 of 10.
    const wrongLogin = (service: TestApp) => () =>
      service.request('POST', '/auth/login', { body: { email: 'someone@example.com', password: 'wrong' }, headers: from('203.0.113.61') });
    expect(await statusesOf(2, wrongLogin(staging))).toEqual([401, 401]);
    expect(await statusesOf(1, wrongLogin(stagingToo))).toEqual([429]);
    expect(await statusesOf(3, wrongLogin(production))).toEqual([401, 401, 429]);

    // An API key's uses, 3 a minute, merged into Redis (the deployments share a database here, so one key works on all three).
    const user = await signedInUser(staging.app, uniqueEmail('two-deployments'));
    const created = await staging.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'shared' } });
    const use = (service: TestApp) => () => service.request('GET', '/users/me', { headers: { 'x-api-key': created.body.key } });
    expect(await statusesOf(2, use(staging))).toEqual([200, 200]);
    await mergedUses(staging);
    expect(await statusesOf(2, use(production))).toEqual([200, 200]);
    await mergedUses(production);
    // Production's count is its own two uses, not four.
    expect(await statusesOf(1, use(production))).toEqual([200]);
    expect(await statusesOf(1, use(stagingToo))).toEqual([200]);
    await mergedUses(stagingToo);
    // The other staging instance knows the first one's two uses once it has merged its own.
    expect(await statusesOf(1, use(stagingToo))).toEqual([429]);
  });
});
