import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { PgListener } from '../../src/database/pg-listener';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { sleep, waitUntil } from '../support/wait';

/** Longer than the listener's patience with a heartbeat. */
const STALL_MS = 3500;
const HEARTBEAT_MS = 100;

/** What the listener said, level and message. */
function recordingLogger(): { logger: Logger; said: string[] } {
  const said: string[] = [];
  const logger = {
    warn: (message: string) => said.push(`warn ${message}`),
    log: (message: string) => said.push(`log ${message}`),
    debug: (message: string) => said.push(`debug ${message}`),
  } as unknown as Logger;
  return { logger, said };
}

/**
 * The LISTEN connections are the revocations' ears: a connection they wrongly call dead costs a
 * warning, a reconnection and, for the revocation channels, every lease until it is heard again.
 */
describe("a LISTEN connection's heartbeat", () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  const listeners: PgListener[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    proxy.restore();
    await Promise.all(listeners.splice(0).map((listener) => listener.stop()));
  });

  afterAll(async () => {
    await proxy?.stop();
    await database?.drop();
  });

  async function listen(url: string): Promise<{ listener: PgListener; said: string[] }> {
    const { logger, said } = recordingLogger();
    const listener = new PgListener(url, 'heartbeat_test', { onNotification: () => undefined }, logger, { heartbeatMs: HEARTBEAT_MS });
    listeners.push(listener);
    await listener.start();
    expect(listener.connected).toBe(true);
    return { listener, said };
  }

  const backends = () => database.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [PgListener.applicationName('heartbeat_test')]);

  it('keeps a connection the server answered, when this process stalled longer than its patience right after a heartbeat went out', async () => {
    const { listener, said } = await listen(database.url);
    const before = await backends();
    // The stall starts where a request's handler would run: after the heartbeat was sent, before
    // the loop reads its answer, so the answer waits in the socket until the stall is over.
    const query = Client.prototype.query as (...args: unknown[]) => unknown;
    let stalled = false;
    jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const result = query.apply(this, args);
      if (!stalled && args[0] === 'SELECT 1') {
        stalled = true;
        setImmediate(() => {
          const until = Date.now() + STALL_MS;
          while (Date.now() < until);
        });
      }
      return result;
    } as typeof Client.prototype.query);
    await waitUntil(async () => stalled, 'a heartbeat to go out', 5000);
    // A few more heartbeats after the stall, each answered on the same connection.
    await sleep(HEARTBEAT_MS * 5);
    expect(said).toEqual([]);
    expect(listener.connected).toBe(true);
    expect(await backends()).toEqual(before);
  }, 15_000);

  it('ends a connection whose heartbeat the server never answers, and listens again once it answers', async () => {
    const { listener, said } = await listen(proxy.wrap(database.url));
    proxy.freeze();
    await waitUntil(async () => !listener.connected, 'the unanswered heartbeat to end the connection', 6000);
    expect(said).toEqual([expect.stringMatching(/^warn stopped listening on heartbeat_test \(no answer within \d+ ms\); reconnecting$/)]);
    proxy.restore();
    await waitUntil(async () => listener.connected, 'the listener to listen again', 6000);
    expect(said.at(-1)).toMatch(/^log listening on heartbeat_test again after [\d.]+ s/);
  }, 20_000);
});
