import { RateLimiterService } from '../../src/rate-limit/rate-limiter.service';
import { createConfirmedUser, login, uniqueEmail } from '../support/accounts';
import { TestRedisCluster } from '../support/redis-cluster';
import { TestRedisServer } from '../support/redis-server';
import { startTestApp, TestApp } from '../support/test-app';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { eventually } from '../support/wait';
import { mergedUses, statusesInTurn, statusesOf } from '../support/rate-limits';

const PASSWORD = 'correct horse battery staple';
const from = (ip: string) => ({ 'x-forwarded-for': ip });
const WRONG_BEARER = { authorization: 'Bearer not-a-token' };
const LIMITS = { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_FAILURE_IP: '3/60', RATE_LIMIT_LOGIN_IP_EMAIL: '10/60', FAILED_LOGIN_COST: '5', RATE_LIMIT_API_KEY: '3/60' };

describe('rate limits in a Redis Cluster (REDIS_CLUSTER)', () => {
  const cluster = new TestRedisCluster();
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    await cluster.start();
    database = await createTestDatabase();
    const env = { ...LIMITS, REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' };
    first = await startTestApp({ env, database });
    second = await startTestApp({ env, database });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
    await cluster.stop();
  });

  it('shares route limits and failed authentications between two instances, every counter on one node under the prefix as a hash tag', async () => {
    const wrongLogin = (service: TestApp) =>
      service.request('POST', '/auth/login', { body: { email: 'someone@example.com', password: 'wrong' }, headers: from('203.0.113.61') });
    // A wrong password costs 5 of 10 for one address and email, whichever instance answers.
    expect(await statusesInTurn([first, second, first], wrongLogin)).toEqual([401, 401, 429]);

    const guess = (service: TestApp) => service.request('GET', '/users/me', { headers: { ...WRONG_BEARER, ...from('203.0.113.62') } });
    expect(await statusesInTurn([first, first, second, second], guess)).toEqual([401, 401, 401, 429]);
    expect(await statusesInTurn([first], guess)).toEqual([429]);

    const byNode = await cluster.keys();
    const written = byNode.flat();
    expect(written.length).toBeGreaterThanOrEqual(3);
    expect(written.filter((key) => !key.startsWith('{atiru}:rl:'))).toEqual([]);
    expect(byNode.filter((keys) => keys.length > 0)).toHaveLength(1);
  });

  it("holds an API key's limit across instances through merges, which name many keys in one script call", async () => {
    const email = uniqueEmail('cluster-key');
    await createConfirmedUser(first, email, PASSWORD);
    const { session } = await login(first, email, PASSWORD);
    const created = await first.request('POST', '/auth/api-keys', { headers: { authorization: `Bearer ${session.access_token}` }, body: { name: 'cluster' } });
    const headers = { 'x-api-key': created.body.key };
    const me = (service: TestApp) => service.request('GET', '/users/me', { headers });
    // Three uses, the limit: two on one instance, one on the other, all merged.
    expect(await statusesInTurn([first, first, second], me)).toEqual([200, 200, 200]);
    await mergedUses(first);
    await mergedUses(second);
    // The instance that merged last knows all three uses, and refuses a fourth.
    const refused = await second.request('GET', '/users/me', { headers });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    // The other knows them once it merges again (it may admit one more before: the README's bound).
    expect([200, 429]).toContain((await first.request('GET', '/users/me', { headers })).status);
    await mergedUses(first);
    expect((await first.request('GET', '/users/me', { headers })).status).toBe(429);
  });

  it('fails open while the node holding the counters is down, and counts on it again once it is back', async () => {
    const holder = await cluster.nodeOf('{atiru}:rl:');
    await holder.stop();
    try {
      // Not refused, not held up: a wrong login answers 401 however often while nothing counts it.
      const login = () => first.request('POST', '/auth/login', { body: { email: 'outage@example.com', password: 'wrong' }, headers: from('203.0.113.63') });
      expect(await statusesOf(4, login)).toEqual([401, 401, 401, 401]);
      expect(first.app.get(RateLimiterService).sharedStoreAvailable).toBe(false);
    } finally {
      await holder.start();
    }
    // Back with its slots (empty): each instance counts in the cluster again (a request counted
    // there carries the limit's headers, one let through uncounted none), and they share counts.
    for (const service of [first, second]) {
      const counted = await eventually(
        () => service.request('POST', '/auth/login', { body: { email: uniqueEmail('back'), password: 'wrong' }, headers: from('203.0.113.64') }),
        (response) => response.headers.get('ratelimit-limit') !== null,
        20_000,
      );
      expect(counted.headers.get('ratelimit-limit')).not.toBeNull();
    }
    const guess = (service: TestApp) => service.request('GET', '/users/me', { headers: { ...WRONG_BEARER, ...from('203.0.113.65') } });
    expect(await statusesInTurn([first, second, first, second], guess)).toEqual([401, 401, 401, 429]);
  });
});

describe('REDIS_CLUSTER against the kind of Redis REDIS_URL names', () => {
  const cluster = new TestRedisCluster();
  const standalone = new TestRedisServer();
  let database: TestDatabase;

  beforeAll(async () => {
    await Promise.all([cluster.start(), standalone.start()]);
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
    await Promise.all([cluster.stop(), standalone.stop()]);
  });

  it('refuses to start on a node of a cluster without REDIS_CLUSTER, whose counts of keys on other nodes would fail open', async () => {
    await expect(startTestApp({ env: { REDIS_URL: cluster.url }, database })).rejects.toThrow(/REDIS_URL names a node of a Redis Cluster: set REDIS_CLUSTER=true/);
  });

  it('refuses to start with REDIS_CLUSTER on a standalone server, to which a cluster connection never comes up', async () => {
    await expect(startTestApp({ env: { REDIS_URL: standalone.url, REDIS_CLUSTER: 'true' }, database })).rejects.toThrow(/REDIS_CLUSTER is set, but the server REDIS_URL names runs without cluster support/);
  });
});
