import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { classifyStatement, subtractCounts } from './sql-statements';
import { Queryable, StatementCounter } from './statement-counter';

describe('the benchmark sorts SQL statements into reads and writes', () => {
  it.each([
    ['select "u0".* from "users" as "u0" where "u0"."id" = $1 limit $2', 'read'],
    ['SELECT 1', 'read'],
    ['  (select 1) union (select 2)', 'read'],
    ['select * from api_keys where id = $1 for update', 'read'],
    ['with recent as (select id from sessions) select count(*) from recent', 'read'],
    ['insert into "sessions" ("id", "user_id") values ($1, $2) returning "id"', 'write'],
    ['update "api_keys" set "last_used_at" = $1 where "id" = $2', 'write'],
    ['delete from "refresh_tokens" where "session_id" = $1', 'write'],
    ['WITH picked AS (SELECT id FROM mail_outbox LIMIT 10) UPDATE mail_outbox SET locked_at = now()', 'write'],
    ['with gone as (delete from sessions returning id) select count(*) from gone', 'write'],
    ['with t as (select updated_at from users) select * from t', 'read'],
    ['begin', 'other'],
    ['commit', 'other'],
    ['SELECT pg_advisory_lock($1)', 'read'],
    ['LISTEN api_key_revoked', 'other'],
    ['set search_path to "public"', 'other'],
    ['', 'other'],
  ])('%s -> %s', (sql, kind) => {
    expect(classifyStatement(sql)).toBe(kind);
  });

  it('subtracts one snapshot of counts from a later one', () => {
    expect(subtractCounts({ read: 10, write: 4, other: 7 }, { read: 3, write: 4, other: 1 })).toEqual({ read: 7, write: 0, other: 6 });
  });
});

describe('the benchmark counts statements only while switched on', () => {
  const requestStatements = ['select 1', { text: 'insert into "sessions" ("id") values ($1)' }];
  /** The real `query` the counter wraps. */
  let sent: jest.Mock;
  let database: Queryable;
  let counter: StatementCounter;
  let server: Server;
  let url: string;

  beforeEach(async () => {
    sent = jest.fn(() => 'answer');
    database = { query: sent };
    counter = new StatementCounter(database);
    // Like Fastify: the body arrives in stream events, the statements are sent later still.
    server = createServer(async (request, response) => {
      for await (const _chunk of request);
      await new Promise((resolve) => setTimeout(resolve, 1));
      for (const statement of requestStatements) database.query(statement);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    counter.switch(false);
    await new Promise((resolve) => server.close(resolve));
  });

  const post = async () => void (await (await fetch(url, { method: 'POST', body: 'x'.repeat(100_000) })).arrayBuffer());

  it('splits statements sent for a request from those sent outside any', async () => {
    expect(counter.switch(true)).toBe(true);
    await post();
    await post();
    await new Promise((resolve) => setTimeout(resolve, 1)).then(() => database.query('delete from "mail_outbox"'));
    expect(counter.inRequests).toEqual({ read: 2, write: 2, other: 0 });
    expect(counter.outsideRequests).toEqual({ read: 0, write: 1, other: 0 });
  });

  it('off, passes statements through uncounted and leaves the HTTP server as Node made it', async () => {
    const emit = Server.prototype.emit;
    counter.switch(true);
    expect(Object.hasOwn(Server.prototype, 'emit')).toBe(true);
    expect(counter.switch(false)).toBe(false);
    expect(Object.hasOwn(Server.prototype, 'emit')).toBe(false);
    expect(Server.prototype.emit).toBe(emit);

    await post();
    expect(sent.mock.calls).toEqual(requestStatements.map((statement) => [statement]));
    expect(sent.mock.results.map((result) => result.value)).toEqual(['answer', 'answer']);
    expect(counter.inRequests).toEqual({ read: 0, write: 0, other: 0 });
    expect(counter.outsideRequests).toEqual({ read: 0, write: 0, other: 0 });

    counter.switch(true);
    await post();
    expect(counter.inRequests).toEqual({ read: 1, write: 1, other: 0 });
  });
});
