import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { isUnavailableError } from '../../src/common/errors/error-mapping';
import { ormOptions, READ_TIMEOUT } from '../../src/database/mikro-orm.options';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/** The server's statement timeout; the client waits a second longer (CLIENT_GRACE_MS). */
const STATEMENT_TIMEOUT_MS = 500;
const CLIENT_PATIENCE_MS = STATEMENT_TIMEOUT_MS + 1000;
/** Longer than the client's patience. */
const STALL_MS = CLIENT_PATIENCE_MS + 1000;
/** A statement that carries this is followed by a stall of the whole process. */
const STALL_MARKER = 'stall_after_sending';

const timeouts = { connectTimeoutMs: 1000, acquireTimeoutMs: 3000, statementTimeoutMs: STATEMENT_TIMEOUT_MS };

/**
 * The pool that requests use gives up on a statement the server does not answer, so a request
 * during an outage gets a 503 in bounded time; it must not give up on one the server answered
 * while this process was stalled, which would fail a request that succeeded (a COMMIT reported
 * failed that was made).
 */
describe('the request pool’s patience with the server', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  /** Straight to the server: a relay in this process would stall with it. */
  let direct: MikroORM;
  let relayed: MikroORM;
  let stalls = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    // Before the pool opens a connection: each one binds the client's query as it finds it.
    const query = Client.prototype.query as (...args: unknown[]) => unknown;
    jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const result = query.apply(this, args);
      const text = (args[0] as { text?: unknown } | undefined)?.text;
      if (typeof text === 'string' && text.includes(STALL_MARKER)) {
        stalls++;
        // After the statement went out, before the loop reads its answer: the answer waits in the
        // socket until the stall is over, as it would behind a long collection or a starved CPU.
        setImmediate(() => {
          const until = Date.now() + STALL_MS;
          while (Date.now() < until);
        });
      }
      return result;
    } as typeof Client.prototype.query);
    // One connection each, so every statement shares it unless it was ended.
    direct = await MikroORM.init(ormOptions(database.url, 1, timeouts));
    relayed = await MikroORM.init(ormOptions(proxy.wrap(database.url), 1, timeouts));
  });

  afterEach(() => proxy.restore());

  afterAll(async () => {
    jest.restoreAllMocks();
    await direct?.close(true);
    await relayed?.close(true);
    await proxy?.stop();
    await database?.drop();
  });

  const execute = <T>(sql: string, orm = direct) => orm.em.getConnection().execute<T[]>(sql);
  const backend = async (orm = direct) => (await execute<{ pid: number }>('SELECT pg_backend_pid() AS pid', orm))[0].pid;

  it('keeps a statement the server answered, and its connection, when this process stalled longer than the patience right after sending it', async () => {
    const before = await backend();
    const started = Date.now();
    expect(await execute(`SELECT 1 AS answered, '${STALL_MARKER}' AS marker`)).toEqual([{ answered: 1, marker: STALL_MARKER }]);
    expect(stalls).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS);
    expect(await backend()).toBe(before);
  }, 15_000);

  it('leaves a slow statement to the server, which cancels it and keeps the connection', async () => {
    const before = await backend();
    await expect(execute('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    expect(await backend()).toBe(before);
  }, 15_000);

  it('ends the connection of a statement a frozen server never answers, within the patience, as an outage, and connects again once it answers', async () => {
    const before = await backend(relayed);
    proxy.freeze();
    const started = Date.now();
    const failure = await execute('SELECT 1', relayed).then(
      () => undefined,
      (error: unknown) => error,
    );
    const waited = Date.now() - started;
    expect(String((failure as Error | undefined)?.message)).toMatch(new RegExp(`${READ_TIMEOUT}$`));
    expect(isUnavailableError(failure)).toBe(true);
    expect(waited).toBeGreaterThanOrEqual(CLIENT_PATIENCE_MS);
    expect(waited).toBeLessThan(CLIENT_PATIENCE_MS + 1500);
    proxy.restore();
    expect(await backend(relayed)).not.toBe(before);
  }, 15_000);
});
