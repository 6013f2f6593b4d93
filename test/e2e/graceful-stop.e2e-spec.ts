import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompiledService, startCompiledService } from '../support/compiled-service';
import { createTestDatabase, TestDatabase } from '../support/test-database';

interface Answer {
  status: number;
  code?: string;
  connection?: string;
}

function get(port: number, path: string, agent: Agent | false, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, code: res.statusCode === 200 ? undefined : JSON.parse(body).code, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(port: number, path: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, code: JSON.parse(text).code }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The built service (npm test builds it), stopped with SIGTERM while clients keep it busy. */
describe('a graceful stop (SIGTERM) under load on keep-alive connections', () => {
  let database: TestDatabase;
  let port: number;
  let service: CompiledService;

  async function startService(env: Record<string, string>): Promise<void> {
    service = await startCompiledService(database.url, { env });
    ({ port } = service);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterEach(() => {
    if (service?.process.exitCode === null) service.process.kill('SIGKILL');
  });

  afterAll(async () => {
    await database.drop();
  });

  it('reports not-ready at once, serves while draining, resets no connection, and exits 0', async () => {
    await startService({ SHUTDOWN_DRAIN_SECONDS: '3' });
    const agent = new Agent({ keepAlive: true, maxSockets: 19 });
    const answers: Answer[] = [];
    const failures: string[] = [];
    let stopping = false;
    let servedWhileStopping = 0;

    // 19 clients, each sending its next request as soon as the last one is answered.
    const clients = Array.from({ length: 19 }, async (_, index) => {
      const path = index % 2 === 0 ? '/health' : '/.well-known/jwks.json';
      for (;;) {
        try {
          const answer = await get(port, path, agent);
          answers.push(answer);
          if (stopping && answer.status === 200) servedWhileStopping++;
          // SERVER_BUSY with Retry-After: a client behind a load balancer goes to another instance.
          if (answer.status === 503) return;
        } catch (error: any) {
          // Refused: the instance no longer listens, and the request was never sent. Anything else
          // (a reset, a hang-up) would leave the client unsure whether it took effect.
          if (error?.code !== 'ECONNREFUSED') failures.push(error?.code ?? String(error));
          return;
        }
      }
    });

    await sleep(500);
    expect(await get(port, '/health/ready', false)).toMatchObject({ status: 200 });
    const exited = service.stop();
    stopping = true;
    await sleep(100);
    expect(await get(port, '/health/ready', false)).toMatchObject({ status: 503, code: 'SERVER_BUSY' });

    const code = await exited;
    await Promise.all(clients);
    agent.destroy();

    expect({ code, failures }).toEqual({ code: 0, failures: [] });
    expect(servedWhileStopping).toBeGreaterThan(0);
    // Served normally while draining, each with Connection: close; or refused in the contract's shape.
    for (const answer of answers) expect([200, 503]).toContain(answer.status);
    expect(answers.filter((answer) => answer.status === 503).every((answer) => answer.code === 'SERVER_BUSY')).toBe(true);
    expect(answers.filter((answer) => answer.connection === 'close').length).toBeGreaterThan(0);
  }, 60_000);

  it('with no connection open, keeps reporting not-ready and serving on its port for the whole drain', async () => {
    // Nothing holds a connection: each request opens its own, as a load balancer's probes do.
    const drainMs = 6000;
    /** Well inside the drain, so that a slow machine cannot make the check late; the old code closed after about a second. */
    const stillServingAfterMs = 3000;
    await startService({ SHUTDOWN_DRAIN_SECONDS: String(drainMs / 1000) });
    const stoppedAt = Date.now();
    const exited = service.stop();
    const readiness: Answer[] = [];
    while (Date.now() - stoppedAt < stillServingAfterMs) {
      readiness.push(await get(port, '/health/ready', false));
      await sleep(100);
    }
    const keys = await get(port, '/.well-known/jwks.json', false);

    // A probe sent before the process has handled the signal still finds it ready; from the first
    // not-ready answer on, every one is.
    const firstNotReady = readiness.findIndex((answer) => answer.status === 503);
    expect(firstNotReady).toBeGreaterThanOrEqual(0);
    expect(readiness.slice(0, firstNotReady).filter((answer) => answer.status !== 200)).toEqual([]);
    expect(readiness.slice(firstNotReady).filter((answer) => answer.status !== 503 || answer.code !== 'SERVER_BUSY')).toEqual([]);
    expect(readiness.slice(firstNotReady).length).toBeGreaterThan(5);
    // Still draining: served as usual (and told to close its connection), not yet answered 503.
    expect(keys).toMatchObject({ status: 200, connection: 'close' });
    expect(await exited).toBe(0);
    // The drain's timer starts once the signal is handled, after it was sent: never sooner than this.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(drainMs);
  }, 60_000);

  it('answers the requests it admitted before the stop, even with no drain period', async () => {
    // One hash at a time: the logins queue behind each other, and some are still waiting at the stop.
    await startService({ SHUTDOWN_DRAIN_SECONDS: '0', PASSWORD_HASH_CONCURRENCY: '1' });
    let stoppedAt = Infinity;
    const logins = Array.from({ length: 40 }, (_, i) =>
      post(port, '/auth/login', { email: `nobody-${i}@example.com`, password: 'not-the-password' }).then((answer) => ({ ...answer, afterStop: Date.now() > stoppedAt })),
    );
    await sleep(300);
    stoppedAt = Date.now();
    const exited = service.stop();
    const answers = await Promise.allSettled(logins);

    const failures = answers.filter((answer) => answer.status === 'rejected').map((answer) => (answer as PromiseRejectedResult).reason?.code);
    const answered = answers.filter((answer) => answer.status === 'fulfilled').map((answer) => (answer as PromiseFulfilledResult<Answer & { afterStop: boolean }>).value);
    expect(failures).toEqual([]);
    // Admitted before the stop: answered as usual, some of them only after it. Arrived after: 503.
    for (const answer of answered) expect([{ status: 401, code: 'INVALID_CREDENTIALS' }, { status: 503, code: 'SERVER_BUSY' }]).toContainEqual({ status: answer.status, code: answer.code });
    expect(answered.filter((answer) => answer.status === 401 && answer.afterStop).length).toBeGreaterThan(0);
    expect(await exited).toBe(0);
  }, 60_000);

  it('writes the access line of every request it answered before it exits, the last ones included', async () => {
    // At info, as in production: access lines wait a moment to share a write (decision 027).
    await startService({ SHUTDOWN_DRAIN_SECONDS: '0', LOG_LEVEL: 'info' });
    const ids = Array.from({ length: 30 }, (_, i) => `graceful-stop-${i}`);
    for (const id of ids) expect(await get(port, '/health/ready', false, { 'x-request-id': id })).toMatchObject({ status: 200 });
    // At once after the last answer, inside the window its line waits in.
    expect(await service.stop()).toBe(0);

    const lines = service.stdout().split('\n').filter(Boolean).map((text) => JSON.parse(text));
    const logged = lines.filter((entry) => entry.event === 'http_request').map((entry) => entry.request_id);
    expect(ids.filter((id) => !logged.includes(id))).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped' });
  }, 60_000);
});
