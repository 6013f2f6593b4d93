import { Client } from 'pg';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, sql, uniqueEmail } from '../support/accounts';
import { TcpProxy } from '../support/tcp-proxy';
import { sleep, waitUntil } from '../support/wait';
import { statusesOf } from '../support/rate-limits';
import { ApiKeyRevocationListener } from '../../src/api-keys/api-key-revocation.listener';
import { SessionRevocations } from '../../src/auth/tokens/session.revocations';
import { DatabaseOutage } from '../../src/database/database.outage';
import { MetricsService } from '../../src/metrics/metrics.service';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';

/** Shorter than the defaults, so the frozen cases answer within the test's patience; the same code path. */
const TIMEOUTS = { DATABASE_CONNECT_TIMEOUT_MS: '2000', DATABASE_ACQUIRE_TIMEOUT_MS: '2000', DATABASE_STATEMENT_TIMEOUT_MS: '1500' };
/** The longest a request may take while the database is frozen: its statement timeout and grace, a reconnect, slack for a busy machine. */
const FROZEN_ANSWER_WITHIN_MS = 1500 + 1000 + 2000 + 2000;
/** Mail requests one client may make for an address in an hour here: few enough for the outage to use them all up if 503s spent them. */
const MAILS_PER_ADDRESS = 3;

describe('every operation while the database is unreachable', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;
  let jwt: Record<string, string>;
  let refreshToken: string;
  let apiKey: string;
  let email: string;
  const password = 'correct horse battery';

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({
      database,
      databaseUrl: proxy.wrap(database.url),
      env: { ...GENEROUS_RATE_LIMITS, ...TIMEOUTS, RATE_LIMIT_MAIL_IP_EMAIL: `${MAILS_PER_ADDRESS}/3600` },
    });
    email = uniqueEmail('outage');
    await createConfirmedUser(service, email, 'correct horse battery');
    const { session } = await login(service, email, 'correct horse battery');
    jwt = { authorization: `Bearer ${session.access_token}` };
    refreshToken = session.refresh_token;
    apiKey = (await service.request('POST', '/auth/api-keys', { body: { name: 'outage' }, headers: jwt })).body.key;
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
  });

  const busy = { statusCode: 503, request_id: expect.any(String), code: 'SERVER_BUSY', error: expect.any(String) };

  it('answers 503 SERVER_BUSY with Retry-After on each one that needs the database', async () => {
    const calls: Array<[string, string, unknown, Record<string, string>?]> = [
      ['GET', '/health', undefined],
      ['POST', '/auth/register', { email: uniqueEmail('outage-new'), password: 'correct horse battery' }],
      ['POST', '/auth/login', { email: uniqueEmail('outage-nobody'), password: 'correct horse battery' }],
      ['POST', '/auth/refresh', { refresh_token: refreshToken }],
      ['POST', '/auth/resend-confirmation', { email: uniqueEmail('outage-resend') }],
      ['POST', '/auth/forgot-password', { email: uniqueEmail('outage-forgot') }],
      ['POST', '/auth/reset-password', { token: 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A', password: 'correct horse battery' }],
      ['POST', '/auth/confirm', { token: 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A' }],
      ['POST', '/auth/logout', undefined, jwt],
      ['POST', '/auth/api-keys', { name: 'during the outage' }, jwt],
      ['GET', '/auth/api-keys', undefined, jwt],
      ['DELETE', '/auth/api-keys/3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32', undefined, jwt],
      ['GET', '/users/me', undefined, { 'x-api-key': apiKey }],
    ];
    proxy.cut();
    try {
      const answers: Record<string, unknown> = {};
      for (const [method, path, body, headers] of calls) {
        const response = await service.request(method, path, { body, headers });
        answers[`${method} ${path}`] = { status: response.status, body: response.body, retryAfter: response.headers.get('retry-after') };
      }
      const expected = Object.fromEntries(calls.map(([method, path]) => [`${method} ${path}`, { status: 503, body: busy, retryAfter: expect.stringMatching(/^[1-9]\d*$/) }]));
      expect(answers).toEqual(expected);
    } finally {
      proxy.restore();
    }
  });

  it('stays ready for the load balancer while the database is cut or stalled, and says the database is down', async () => {
    const outage = service.app.get(DatabaseOutage);
    await waitUntil(async () => !outage.ongoing, 'the earlier outages to end');
    expect(await service.request('GET', '/health/ready')).toMatchObject({ status: 200, body: { status: 'ready', database: 'up' } });
    for (const [name, start] of [
      ['cut', () => proxy.cut()],
      ['stalled', () => proxy.stall()],
    ] as const) {
      start();
      try {
        // A request that needs the database is refused first: this instance then knows it is down.
        expect({ name, status: (await service.request('GET', '/auth/api-keys', { headers: jwt })).status }).toEqual({ name, status: 503 });
        const health = await service.request('GET', '/health');
        expect({ name, status: health.status, body: health.body }).toEqual({ name, status: 503, body: { ...busy, error: 'The database is unavailable' } });
        const ready = await service.request('GET', '/health/ready');
        expect({ name, status: ready.status, body: ready.body }).toEqual({ name, status: 200, body: { status: 'ready', database: 'down' } });
      } finally {
        proxy.restore();
      }
      await waitUntil(async () => (await service.request('GET', '/health/ready')).body.database === 'up', 'readiness to say the database is back', 10_000);
    }
  }, 30_000);

  it('spends no rate limit on a request answered 503: once the database is back, the client has its whole budget for the address', async () => {
    const address = { email: uniqueEmail('outage-budget') };
    proxy.cut();
    try {
      for (let i = 0; i < MAILS_PER_ADDRESS + 2; i++) {
        const response = await service.request('POST', '/auth/forgot-password', { body: address });
        expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: busy });
      }
    } finally {
      proxy.restore();
    }
    const outage = service.app.get(DatabaseOutage);
    await waitUntil(async () => !outage.ongoing, 'the database to be back');
    const forgot = () => service.request('POST', '/auth/forgot-password', { body: address });
    expect(await statusesOf(MAILS_PER_ADDRESS + 1, forgot)).toEqual([...Array(MAILS_PER_ADDRESS).fill(200), 429]);
  });

  it('lands the confirmation link, and its page\'s button, on the dashboard with an error the page can show', async () => {
    proxy.cut();
    try {
      const token = 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A';
      const opened = await service.request('GET', `/auth/confirm?token=${token}`);
      const pressed = await service.request('POST', '/auth/confirm-link', { raw: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      for (const [response, status] of [[opened, 302], [pressed, 303]] as const) {
        expect(response.status).toBe(status);
        const location = new URL(response.headers.get('location')!);
        expect(location.origin + location.pathname).toBe('http://dashboard.test/');
        expect(Object.fromEntries(location.searchParams)).toEqual({
          error: 'The service is temporarily unavailable, please retry',
          error_code: 'SERVER_BUSY',
          request_id: response.headers.get('x-request-id'),
        });
      }
    } finally {
      proxy.restore();
    }
  });

  it('answers 503 SERVER_BUSY, not 500, when the database accepts connections but never answers', async () => {
    proxy.stall();
    try {
      for (const [method, path, body] of [
        ['GET', '/health', undefined],
        ['POST', '/auth/login', { email: uniqueEmail('stalled'), password: 'correct horse battery' }],
      ] as const) {
        const response = await service.request(method, path, { body });
        expect({ path, status: response.status, body: response.body, retryAfter: response.headers.get('retry-after') }).toEqual({ path, status: 503, body: busy, retryAfter: '1' });
      }
    } finally {
      proxy.restore();
    }
    expect((await service.request('GET', '/health')).status).toBe(200);
  }, 30_000);

  /** Ends every connection the service holds to the database, as a restart of PostgreSQL does. */
  async function terminateConnections(): Promise<void> {
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    } finally {
      await admin.end();
    }
  }

  it("sets PostgreSQL's statement_timeout on the service's connections, so a slow statement is cancelled there first", async () => {
    expect(await sql(service, 'SHOW statement_timeout')).toEqual([{ statement_timeout: '1500ms' }]);
  });

  it('answers 503 SERVER_BUSY with Retry-After under load, never 500 or 401, however the database goes away, mid-request included', async () => {
    /** `phase` when the request was sent, `ended` when its answer came. */
    interface Outcome { phase: string; ended: string; status: number; code?: string; retryAfter: string | null; ms: number }
    const outcomes: Outcome[] = [];
    let phase = 'healthy';
    let running = true;
    const calls = [
      () => service.request('GET', '/users/me', { headers: jwt }),
      () => service.request('GET', '/users/me', { headers: { 'x-api-key': apiKey } }),
      () => service.request('GET', '/auth/api-keys', { headers: jwt }),
      () => service.request('POST', '/auth/login', { body: { email, password } }),
    ];
    const worker = async (next: number) => {
      while (running) {
        const started = Date.now();
        const during = phase;
        const response = await calls[next++ % calls.length]();
        outcomes.push({ phase: during, ended: phase, status: response.status, code: response.body?.code, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started });
      }
    };
    const workers = Array.from({ length: 6 }, (_, index) => worker(index));
    const outages: Array<[string, () => unknown]> = [
      // Requests are in flight when it happens: some stop mid-query.
      ['frozen', () => proxy.freeze()],
      ['refused', () => proxy.cut()],
      ['connect timing out', () => proxy.stall()],
      ['restarted', () => terminateConnections()],
    ];
    try {
      for (const [name, start] of outages) {
        phase = 'healthy';
        await sleep(700);
        phase = name;
        await start();
        // Longer than the client's patience with a frozen server, with room for a loaded machine.
        await sleep(3500);
        proxy.restore();
      }
      phase = 'back';
      await sleep(2000);
    } finally {
      running = false;
      proxy.restore();
      await Promise.all(workers);
    }

    const byPhase = (name: string) => outcomes.filter((outcome) => outcome.phase === name);
    const refused = outcomes.filter((outcome) => outcome.status === 503);
    // Nothing but successes and 503s, every 503 the contract's, with Retry-After.
    expect([...new Set(outcomes.map((outcome) => outcome.status))].sort()).toEqual([200, 503]);
    expect(new Set(refused.map((outcome) => `${outcome.code} ${outcome.retryAfter}`))).toEqual(new Set(['SERVER_BUSY 1']));
    // Each way of going away was seen, and answered within the timeouts rather than hanging. A
    // frozen server is seen by the requests in flight when it froze: they are refused once the
    // client's patience runs out, while those sent after may wait on a new connection until the
    // server answers again.
    const seen = (name: string) => outcomes.some((outcome) => outcome.status === 503 && (outcome.phase === name || outcome.ended === name));
    for (const [name] of outages.slice(0, 3)) expect({ name, refused: seen(name) }).toEqual({ name, refused: true });
    expect(Math.max(...outcomes.map((outcome) => outcome.ms))).toBeLessThan(FROZEN_ANSWER_WITHIN_MS);
    // And once it is back, everything works again.
    expect(byPhase('back').slice(-12).map((outcome) => outcome.status)).toEqual(Array(12).fill(200));
  }, 60_000);

  it('logs an outage as one line when it starts and one when it ends, with the number of requests refused, and no stack trace', async () => {
    const outage = service.app.get(DatabaseOutage);
    await waitUntil(async () => !outage.ongoing, 'the earlier outages to end');
    // The earlier outages' reconnections are over too: the revocation listeners listen again, and
    // nothing has been said for a moment (a listener still reconnecting would speak in this one).
    await waitUntil(async () => service.app.get(SessionRevocations).listening && service.app.get(ApiKeyRevocationListener).connected, 'the revocation listeners to listen again', 10_000);
    let quietFrom = service.logs.lines.length;
    await waitUntil(
      async () => {
        await sleep(500);
        const quiet = service.logs.entries().slice(quietFrom).every((entry) => entry.level < 40);
        quietFrom = service.logs.lines.length;
        return quiet;
      },
      'the log to be quiet',
      10_000,
    );
    const from = service.logs.lines.length;
    const logged = () => service.logs.entries().slice(from);
    const requests = 40;
    const outageGauge = async () => {
      const line = (await service.app.get(MetricsService).registry.metrics()).split('\n').find((candidate) => candidate.startsWith('atiru_database_outage '));
      return Number(line?.split(' ')[1]);
    };
    proxy.cut();
    try {
      for (let i = 0; i < requests; i++) expect((await service.request('GET', '/auth/api-keys', { headers: jwt })).status).toBe(503);
      expect(await outageGauge()).toBe(1);
    } finally {
      proxy.restore();
    }
    const end = await waitUntil(async () => logged().find((entry) => /database reachable again/.test(entry.msg)), 'the end of the outage in the log', 5000);
    expect(await outageGauge()).toBe(0);

    const warnings = logged().filter((entry) => entry.level >= 40);
    expect(warnings.filter((entry) => /database unreachable/.test(entry.msg))).toHaveLength(1);
    expect(end).toMatchObject({ level: 40, refused_requests: requests });
    expect(logged().filter((entry) => entry.err !== undefined || entry.stack !== undefined)).toEqual([]);
    // Besides those two, each LISTEN connection and background worker says once that it lost the
    // database: nobody repeats themselves, and nothing is said per request.
    const said = warnings.map((entry) => `${entry.context}: ${String(entry.msg).replace(/ \(.*$/, '')}`);
    const repeated = said.filter((line, index) => said.indexOf(line) !== index);
    // A repeat shows every warning whole, with its time and reason, to tell what happened.
    const whole = repeated.length === 0 ? [] : warnings.map((entry) => `${entry.time} ${entry.context}: ${entry.msg}`);
    expect({ repeated, whole }).toEqual({ repeated: [], whole: [] });
    expect(said.length).toBeLessThanOrEqual(2 + 4 + 2);
  }, 30_000);
});
