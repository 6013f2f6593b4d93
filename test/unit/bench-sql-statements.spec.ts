import { classifyStatement, subtractCounts } from '../../bench/sql-statements';

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
