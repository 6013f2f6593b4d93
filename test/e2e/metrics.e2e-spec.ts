import { generateApiKey } from '../../src/api-keys/api-key-format';
import { PROOF_VALID_MS } from '../../src/database/revocation-channel';
import { MetricsServer } from '../../src/metrics/metrics.server';
import { USER_CHANGED_CHANNEL } from '../../src/users/users.service';
import { CUT_OFF_DATABASE_TIMEOUTS, listenerPortsThrough } from '../support/partition';
import { sample } from '../support/prometheus';
import { signedInUser } from '../support/signed-in-user';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { eventually, within } from '../support/wait';

describe('Prometheus metrics, scraped during a journey', () => {
  let service: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    service = await startTestApp({ env: { METRICS_PORT: '0' } });
    metricsUrl = `http://127.0.0.1:${service.app.get(MetricsServer).port}/metrics`;
  });

  afterAll(async () => {
    await service?.close();
  });

  it('counts requests by route and status, authentications by kind and outcome, and reads the caches, outbox, pool and listener', async () => {
    const ada = await signedInUser(service.app, 'ada.metrics@example.com');
    expect((await service.request('GET', '/users/me', { headers: ada.jwt })).status).toBe(200);
    const created = await service.request('POST', '/auth/api-keys', { headers: ada.jwt, body: { name: 'metrics' } });
    expect(created.status).toBe(201);
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': created.body.key } })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': created.body.key } })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': generateApiKey().key } })).status).toBe(401);
    expect((await service.request('GET', '/users/me')).status).toBe(401);

    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();

    expect(sample(text, 'atiru_http_requests_total{method="GET",route="/users/me",status="200"}')).toBe(3);
    expect(sample(text, 'atiru_http_requests_total{method="GET",route="/users/me",status="401"}')).toBe(2);
    expect(sample(text, 'atiru_http_requests_total{method="POST",route="/auth/api-keys",status="201"}')).toBe(1);
    expect(sample(text, 'atiru_http_request_duration_seconds_count{method="GET",route="/users/me",status="200"}')).toBe(3);
    expect(sample(text, 'atiru_http_request_duration_seconds_bucket{method="GET",route="/users/me",status="200",le="+Inf"}')).toBe(3);
    // Each of the three took some time, and less than the widest bound.
    expect(sample(text, 'atiru_http_request_duration_seconds_sum{method="GET",route="/users/me",status="200"}')).toBeGreaterThan(0);
    expect(sample(text, 'atiru_http_request_duration_seconds_bucket{method="GET",route="/users/me",status="200",le="5"}')).toBe(3);
    expect(text).toContain('# TYPE atiru_http_request_duration_seconds histogram\n');
    expect(sample(text, 'atiru_authentications_total{method="jwt",outcome="admitted"}')).toBe(2);
    expect(sample(text, 'atiru_authentications_total{method="api_key",outcome="admitted"}')).toBe(2);
    // The request without any credential is no authentication attempt.
    expect(sample(text, 'atiru_authentications_total{method="api_key",outcome="denied"}')).toBe(1);
    expect(sample(text, 'atiru_api_key_cache_accepted_entries')).toBe(1);
    // At least the key just accepted, and far below the bound.
    expect(sample(text, 'atiru_auth_cache_bytes')).toBeGreaterThan(400);
    expect(sample(text, 'atiru_auth_cache_bytes')).toBeLessThan(1024 * 1024);
    expect(sample(text, 'atiru_revocation_listener_connected')).toBe(1);
    expect(sample(text, 'atiru_api_key_cache_serving')).toBe(1);
    expect(sample(text, 'atiru_user_cache_serving')).toBe(1);
    expect(sample(text, 'atiru_signing_key_listener_connected')).toBe(1);
    expect(sample(text, 'atiru_database_outage')).toBe(0);
    // Without REDIS_URL there is no shared store, and no breaker to report.
    expect(sample(text, 'atiru_rate_limit_store_available')).toBeUndefined();
    expect(sample(text, 'atiru_mail_outbox_pending')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'atiru_mail_outbox_failed{reason="rejected"}')).toBe(0);
    expect(sample(text, 'atiru_mail_outbox_failed{reason="retries_exhausted"}')).toBe(0);
    expect(sample(text, 'atiru_mail_delivery_attempts_total{outcome="permanent_failure"}')).toBe(0);
    expect(sample(text, 'atiru_db_pool_connections_used')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'atiru_db_pool_connections_free')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toContain(created.body.key);
  });

  it('is not on the API port, and its own port answers nothing else', async () => {
    expect((await service.request('GET', '/metrics', { contract: false })).status).toBe(404);
    expect((await fetch(metricsUrl.replace('/metrics', '/health'))).status).toBe(404);
  });
});

/**
 * The listeners' gauges of an instance that reaches PostgreSQL through a proxy, read while one of
 * its LISTEN connections, or all of its connections, are cut off.
 */
describe('Prometheus metrics of the listeners, cut off from PostgreSQL', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env: { METRICS_PORT: '0', ...CUT_OFF_DATABASE_TIMEOUTS } });
    metricsUrl = `http://127.0.0.1:${service.app.get(MetricsServer).port}/metrics`;
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  afterEach(() => proxy.restore());

  /** What the listeners' gauges read now. */
  async function listeners() {
    const text = await (await fetch(metricsUrl)).text();
    return {
      revocations: sample(text, 'atiru_revocation_listener_connected'),
      api_keys: sample(text, 'atiru_api_key_cache_serving'),
      users: sample(text, 'atiru_user_cache_serving'),
      signing_keys: sample(text, 'atiru_signing_key_listener_connected'),
    };
  }

  const ALL_HEARD = { revocations: 1, api_keys: 1, users: 1, signing_keys: 1 };
  const allHeard = (read: Awaited<ReturnType<typeof listeners>>) => Object.values(read).every((value) => value === 1);

  it('the users cache reads 0 once its listener stops proving it hears, though the connection looks open, while the others read 1; and 1 again once it listens anew', async () => {
    expect(await eventually(listeners, allHeard)).toEqual(ALL_HEARD);
    const listener = await listenerPortsThrough(service, proxy, USER_CHANGED_CHANNEL);
    expect(listener).toHaveLength(1);

    proxy.freezeConnections(listener);
    const lost = await within(10_000, listeners, (read) => read.users === 0, 50);

    expect(lost.value).toEqual({ ...ALL_HEARD, users: 0 });
    // Once the last proof ran out, well before the heartbeat's own timeout ends the connection:
    // the gauge follows the proof, not the connection.
    expect(lost.elapsedMs).toBeLessThan(PROOF_VALID_MS + 1_000);
    // The unanswered heartbeat ends the frozen connection; a new one flows, and proves it hears.
    expect(await eventually(listeners, allHeard)).toEqual(ALL_HEARD);
  }, 30_000);

  it('every listener reads 0 while the instance is cut off from PostgreSQL, and 1 again once it is back', async () => {
    expect(await eventually(listeners, allHeard)).toEqual(ALL_HEARD);

    proxy.cut();
    expect(await eventually(listeners, (read) => Object.values(read).every((value) => value === 0))).toEqual({
      revocations: 0,
      api_keys: 0,
      users: 0,
      signing_keys: 0,
    });

    proxy.restore();
    expect(await eventually(listeners, allHeard)).toEqual(ALL_HEARD);
  }, 30_000);
});
