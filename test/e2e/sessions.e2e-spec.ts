import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, someoneWaitsOnALock, sql, uniqueEmail } from '../support/accounts';
import { sleep, waitUntil } from '../support/wait';
import { EntityManager } from '@mikro-orm/postgresql';
import { FakeClock } from '../support/fake-clock';
import { recordQueries } from '../support/query-recorder';
import { Client } from 'pg';
import { startTestApp, TestApp, TestResponse } from '../support/test-app';

const PASSWORD = 'correct horse battery';
const INVALID_REFRESH = { statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN', error: 'Invalid or expired refresh token' };

async function liveTokens(service: TestApp, refreshToken: string): Promise<number> {
  const [row] = await sql<{ live: string }>(
    service,
    `SELECT count(*) AS live FROM refresh_tokens WHERE retired_at IS NULL
       AND session_id = (SELECT session_id FROM refresh_tokens WHERE token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex'))`,
    [refreshToken],
  );
  return Number(row.live);
}

describe('sessions: login and refresh (real app, real PostgreSQL)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, REFRESH_REUSE_GRACE_SECONDS: '2' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('finds the account of a login through the unique index on lower(email), not by reading the table', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const recorder = recordQueries(service.app);
    try {
      await login(service, email, PASSWORD);
    } finally {
      recorder.stop();
    }
    // The statement that finds the account by its address; the one that opens the session reads the user by id.
    const lookups = recorder.all.filter((query) => query.requestId !== undefined && /\bfrom "?users"?\b/i.test(query.sql) && /lower\(email\)/i.test(query.sql));
    expect(lookups).toHaveLength(1);
    // With sequential scans priced out, the plan shows whether an index can answer the statement.
    const connection = service.app.get(EntityManager).getConnection();
    const plan = await connection.transactional(async (transaction) => {
      await connection.execute('SET LOCAL enable_seqscan = off', [], 'run', transaction);
      return connection.execute<Array<{ 'QUERY PLAN': string }>>(`EXPLAIN ${lookups[0].sql}`, lookups[0].bindings, 'all', transaction);
    });
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('users_email_lower_unique');
  });

  it('answers login with the documented body, field for field', async () => {
    const email = uniqueEmail();
    const id = await createConfirmedUser(service, email, PASSWORD);
    const before = Math.floor(Date.now() / 1000);
    const response = await service.request('POST', '/auth/login', { body: { email: `  ${email.toUpperCase()} `, password: PASSWORD } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      user: { id, email, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), updated_at: expect.stringMatching(/Z$/) },
      session: {
        access_token: expect.any(String),
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        expires_in: 3600,
        expires_at: expect.any(Number),
        token_type: 'bearer',
      },
    });
    expect(response.body.session.expires_at).toBeGreaterThanOrEqual(before + 3600);
    expect(response.body.session.expires_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
  });

  it('remembers the user agent and address of a session, and stores only a hash of the refresh token', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const { session } = await login(service, email, PASSWORD, { 'user-agent': 'jest-probe/1.0' });
    const rows = await sql(
      service,
      `SELECT s.user_agent, s.ip, s.refreshed_at, s.revoked_at, t.token_hash FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id
        JOIN users u ON u.id = s.user_id WHERE u.email = ?`,
      [email],
    );
    expect(rows).toEqual([{ user_agent: 'jest-probe/1.0', ip: '127.0.0.1', refreshed_at: null, revoked_at: null, token_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const [dump] = await sql<{ everything: string }>(service, `SELECT string_agg(t::text, ' ') AS everything FROM refresh_tokens t`);
    expect(dump.everything).not.toContain(session.refresh_token);
  });

  // Login prepares the session and signs its access token while the password hash runs; only a
  // login that passes every check may store or send any of it.
  it('stores and sends nothing for a wrong password or an unconfirmed email, and names the stored session in the access token', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const unconfirmed = uniqueEmail('unconfirmed');
    await createConfirmedUser(service, unconfirmed, PASSWORD);
    await sql(service, 'UPDATE users SET email_confirmed_at = NULL WHERE email = ?', [unconfirmed]);
    const sessionsOf = async (who: string) =>
      (await sql<{ id: string }>(service, 'SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?', [who])).map((row) => row.id);

    const wrong = await service.request('POST', '/auth/login', { body: { email, password: `${PASSWORD}!` } });
    const notConfirmed = await service.request('POST', '/auth/login', { body: { email: unconfirmed, password: PASSWORD } });
    expect([wrong.status, wrong.body.code, wrong.body.session]).toEqual([401, 'INVALID_CREDENTIALS', undefined]);
    expect([notConfirmed.status, notConfirmed.body.code, notConfirmed.body.session]).toEqual([403, 'EMAIL_NOT_VERIFIED', undefined]);
    expect(await sessionsOf(email)).toEqual([]);
    expect(await sessionsOf(unconfirmed)).toEqual([]);

    const { session } = await login(service, email, PASSWORD);
    const claims = JSON.parse(Buffer.from(session.access_token.split('.')[1], 'base64url').toString('utf8'));
    expect(await sessionsOf(email)).toEqual([claims.sid]);
  });

  it('rotates the refresh token on every use and retires the old one', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const first = await login(service, email, PASSWORD);
    const refreshed = await service.request('POST', '/auth/refresh', { body: { refresh_token: first.session.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ user: first.user, session: { ...first.session, access_token: expect.any(String), refresh_token: expect.any(String), expires_at: expect.any(Number) } });
    expect(refreshed.body.session.refresh_token).not.toBe(first.session.refresh_token);
    const [old] = await sql(service, `SELECT retired_at, replaced_by_id FROM refresh_tokens WHERE token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex')`, [
      first.session.refresh_token,
    ]);
    expect(old.retired_at).toEqual(expect.any(String));
    expect(old.replaced_by_id).toEqual(expect.any(String));
    expect(await liveTokens(service, refreshed.body.session.refresh_token)).toBe(1);
    const [session] = await sql(service, `SELECT refreshed_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?`, [email]);
    expect(session.refreshed_at).toEqual(expect.any(String));
  });

  it('answers a retired token within the grace interval with the head of the same chain, and kills the session after it', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const t0 = (await login(service, email, PASSWORD)).session.refresh_token;
    const t1 = (await service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } })).body.session.refresh_token;

    // A second tab presenting t0 gets t1 itself: no second live chain.
    const replay = await service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } });
    expect(replay.status).toBe(200);
    expect(replay.body.session.refresh_token).toBe(t1);
    expect(await liveTokens(service, t1)).toBe(1);

    // After t1 rotates on, t0 follows the chain to its newest link.
    const t2 = (await service.request('POST', '/auth/refresh', { body: { refresh_token: t1 } })).body.session.refresh_token;
    const replayAgain = await service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } });
    expect(replayAgain.status).toBe(200);
    expect(replayAgain.body.session.refresh_token).toBe(t2);
    expect(await liveTokens(service, t2)).toBe(1);

    await sleep(2100);
    const reuse = await service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } });
    expect(reuse.status).toBe(401);
    expect(reuse.body).toEqual(INVALID_REFRESH);

    // The whole session is dead: the live head too.
    const head = await service.request('POST', '/auth/refresh', { body: { refresh_token: t2 } });
    expect(head.status).toBe(401);
    expect(head.body).toEqual(INVALID_REFRESH);
    const [session] = await sql(service, `SELECT revoked_at, revoked_reason FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?`, [email]);
    expect(session).toEqual({ revoked_at: expect.any(String), revoked_reason: 'refresh_token_reuse' });
    const warning = service.logs.entries().find((entry) => entry.event === 'refresh_token_reuse');
    expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining('revoked') });
    expect(service.logs.text).not.toContain(t0);
  });

  it('stops a thief who watches last_active_at and replays each retired token within the grace interval: the second replay in a row revokes the session', async () => {
    const email = uniqueEmail('ridden');
    await createConfirmedUser(service, email, PASSWORD);
    const opened = (await login(service, email, PASSWORD)).session;
    const sessionId = JSON.parse(Buffer.from(opened.access_token.split('.')[1], 'base64url').toString('utf8')).sid as string;
    let owner = opened.refresh_token;
    // The thief copied both tokens of the session, and watches it through its list of sessions.
    const thief = { refresh: opened.refresh_token, access: opened.access_token };
    const lastActive = async (): Promise<string> => {
      const listed = await service.request('GET', '/auth/sessions', { headers: { authorization: `Bearer ${thief.access}` } });
      expect(listed.status).toBe(200);
      return (listed.body.sessions as Array<{ id: string; last_active_at: string }>).find((session) => session.id === sessionId)!.last_active_at;
    };
    const rideOnce = async () => {
      const seen = await lastActive();
      // The owner refreshes, as a client does every access token lifetime.
      const ownerRefresh = await service.request('POST', '/auth/refresh', { body: { refresh_token: owner } });
      expect(ownerRefresh.status).toBe(200);
      owner = ownerRefresh.body.session.refresh_token;
      // The thief sees the moment it happened and replays the token just retired, within the grace interval.
      await waitUntil(async () => (await lastActive()) !== seen, 'the owner\'s refresh to show');
      const replay = await service.request('POST', '/auth/refresh', { body: { refresh_token: thief.refresh } });
      if (replay.status === 200) Object.assign(thief, { refresh: replay.body.session.refresh_token, access: replay.body.session.access_token });
      return replay;
    };

    // Once, it looks like a second tab: the thief gets the owner's new token.
    const first = await rideOnce();
    expect(first.status).toBe(200);
    expect(first.body.session.refresh_token).toBe(owner);
    // At the owner's next refresh the thief has to replay again, and that ends the session for both.
    const second = await rideOnce();
    expect(second.status).toBe(401);
    expect(second.body).toEqual(INVALID_REFRESH);
    expect(await service.request('POST', '/auth/refresh', { body: { refresh_token: owner } })).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect((await service.request('GET', '/auth/sessions', { headers: { authorization: `Bearer ${thief.access}` } })).status).toBe(401);
    const [session] = await sql(service, 'SELECT revoked_reason FROM sessions WHERE id = ?', [sessionId]);
    expect(session).toEqual({ revoked_reason: 'refresh_token_reuse' });
    expect(service.logs.entries().find((entry) => entry.event === 'refresh_token_reuse' && entry.session_id === sessionId)).toMatchObject({ level: 40, reason: 'shared_token_replayed' });
  });

  it('lets one client replay again after the chain moved on without a replay: two tabs that race once per refresh stay signed in', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    let current = (await login(service, email, PASSWORD)).session.refresh_token;
    for (let round = 0; round < 3; round++) {
      // Tab A refreshes, and tab B, holding the same token a moment later, is handed A's.
      const tabA = await service.request('POST', '/auth/refresh', { body: { refresh_token: current } });
      const tabB = await service.request('POST', '/auth/refresh', { body: { refresh_token: current } });
      expect({ round, a: tabA.status, b: tabB.status }).toEqual({ round, a: 200, b: 200 });
      expect(tabB.body.session.refresh_token).toBe(tabA.body.session.refresh_token);
      // The next time, only one of them refreshes (the other reads the cookie the first one set).
      const alone = await service.request('POST', '/auth/refresh', { body: { refresh_token: tabA.body.session.refresh_token } });
      expect(alone.status).toBe(200);
      current = alone.body.session.refresh_token;
    }
  });

  it('leaves one live chain after 20 concurrent refreshes of one token', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const t0 = (await login(service, email, PASSWORD)).session.refresh_token;
    const answers = await Promise.all(Array.from({ length: 20 }, () => service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    const handedOut = new Set(answers.map((answer) => answer.body.session.refresh_token));
    expect(handedOut.size).toBe(1);
    const [t1] = handedOut;
    expect(t1).not.toBe(t0);
    expect(await liveTokens(service, t1)).toBe(1);
    const [counts] = await sql<{ total: string }>(
      service,
      `SELECT count(*) AS total FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE u.email = ?`,
      [email],
    );
    expect(Number(counts.total)).toBe(2);
    const next = await service.request('POST', '/auth/refresh', { body: { refresh_token: t1 } });
    expect(next.status).toBe(200);
  });

  it('answers an unknown refresh token with 401', async () => {
    for (const refresh_token of ['x', 'A'.repeat(43), 'not a token at all']) {
      const response = await service.request('POST', '/auth/refresh', { body: { refresh_token } });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH);
    }
  });

  it('answers a refresh without a token with 400', async () => {
    const missing = await service.request('POST', '/auth/refresh', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ statusCode: 400, request_id: expect.any(String), code: 'INVALID_REQUEST', error: 'Invalid request: refresh_token should not be empty', errors: [{ field: 'refresh_token', code: 'isNotEmpty', message: 'refresh_token should not be empty' }] });
    const wrongType = await service.request('POST', '/auth/refresh', { body: { refresh_token: 42 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toEqual({ statusCode: 400, request_id: expect.any(String), code: 'INVALID_REQUEST', error: 'Invalid request: refresh_token must be a string', errors: [{ field: 'refresh_token', code: 'isString', message: 'refresh_token must be a string' }] });
  });
});

describe('sessions: strict reuse detection and expiry', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, REFRESH_REUSE_GRACE_SECONDS: '0', REFRESH_TOKEN_TTL_SECONDS: '2' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('with no grace interval, lets exactly one of 20 concurrent refreshes through and revokes the session for the rest', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const t0 = (await login(service, email, PASSWORD)).session.refresh_token;
    const answers = await Promise.all(Array.from({ length: 20 }, () => service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } })));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, ...Array(19).fill(401)]);
    const winner = answers.find((answer) => answer.status === 200)!.body.session.refresh_token;
    expect(await liveTokens(service, winner)).toBe(1);
    // The reuse revoked the session, so even the winner's token is dead.
    expect((await service.request('POST', '/auth/refresh', { body: { refresh_token: winner } })).status).toBe(401);
  });

  it('rejects the refresh token of a session left unused past REFRESH_TOKEN_TTL_SECONDS', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const t0 = (await login(service, email, PASSWORD)).session.refresh_token;
    const t1 = (await service.request('POST', '/auth/refresh', { body: { refresh_token: t0 } })).body.session.refresh_token;
    await sleep(2100);
    const expired = await service.request('POST', '/auth/refresh', { body: { refresh_token: t1 } });
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual(INVALID_REFRESH);
  });
});

describe('sessions: a refresh the database fails part way', () => {
  let service: TestApp;
  let locker: Client;

  beforeAll(async () => {
    // No grace interval: a retry of a rotated token ends the session at once.
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, REFRESH_REUSE_GRACE_SECONDS: '0', DATABASE_STATEMENT_TIMEOUT_MS: '1000' } });
    locker = new Client({ connectionString: service.database.url });
    await locker.connect();
  });

  afterAll(async () => {
    await locker?.end();
    await service?.close();
  });

  it('rotates nothing when it cannot answer: the client retries with the token it holds and carries on, signed in', async () => {
    const email = uniqueEmail();
    await createConfirmedUser(service, email, PASSWORD);
    const held = (await login(service, email, PASSWORD)).session.refresh_token;

    // The users table held by a long lock, as in a stall or a migration: the refresh cannot read its user in time.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    let failed: TestResponse;
    try {
      failed = await service.request('POST', '/auth/refresh', { body: { refresh_token: held } });
    } finally {
      await locker.query('ROLLBACK');
    }
    expect([failed.status, failed.body.code]).toEqual([503, 'SERVER_BUSY']);
    expect(await liveTokens(service, held)).toBe(1);

    const retried = await service.request('POST', '/auth/refresh', { body: { refresh_token: held } });
    expect(retried.status).toBe(200);
    const [session] = await sql<{ revoked_at: Date | null }>(service, 'SELECT revoked_at FROM sessions WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = encode(sha256(convert_to(?, \'UTF8\')), \'hex\'))', [held]);
    expect(session.revoked_at).toBeNull();
    expect((await service.request('POST', '/auth/refresh', { body: { refresh_token: retried.body.session.refresh_token } })).status).toBe(200);
  });
});

describe('sessions: the maximum lifetime (the app on a clock the test moves)', () => {
  const DAY = 86_400;
  const clock = new FakeClock();
  let service: TestApp;

  beforeAll(async () => {
    // The defaults: 30 days without a refresh, 90 days at most.
    service = await startTestApp({ clock, env: GENEROUS_RATE_LIMITS });
  });

  afterAll(async () => {
    await service?.close();
  });

  /**
   * A session that ends 30 s from now on the app's clock, and a refresh of it started now but held
   * up (another transaction holds the refresh tokens' table) until `meanwhile` has run.
   */
  async function refreshHeldUpWhile(label: string, meanwhile: (user: { access: Record<string, string>; sessionId: string }) => Promise<void>) {
    const email = uniqueEmail(label);
    await createConfirmedUser(service, email, PASSWORD);
    const { session } = await login(service, email, PASSWORD);
    const access = { authorization: `Bearer ${session.access_token}` };
    expect((await service.request('GET', '/users/me', { headers: access })).status).toBe(200);
    const [row] = await sql<{ id: string }>(service, 'SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?', [email]);
    await sql(service, 'UPDATE sessions SET expires_at = ? WHERE id = ?', [new Date(clock.nowMs() + 30_000), row.id]);
    const locker = new Client({ connectionString: service.database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE refresh_tokens IN ACCESS EXCLUSIVE MODE');
      const refreshing = service.request('POST', '/auth/refresh', { body: { refresh_token: session.refresh_token } });
      await waitUntil(() => someoneWaitsOnALock(service, 'refresh_tokens'), 'the refresh to wait for the lock');
      await meanwhile({ access, sessionId: row.id });
      await locker.query('ROLLBACK');
      return { refreshed: await refreshing, sessionId: row.id };
    } finally {
      await locker.end();
    }
  }

  it('judges a refresh that waited for its session by the time it got it: a session that ended meanwhile stays ended', async () => {
    const { refreshed } = await refreshHeldUpWhile('ended-while-waiting', async () => clock.skip(60));
    expect([refreshed.status, refreshed.body]).toEqual([401, INVALID_REFRESH]);
  });

  it('ends one\'s own session on sign-out even past its expiry, so a refresh that was waiting cannot bring it back', async () => {
    const { refreshed, sessionId } = await refreshHeldUpWhile('signed-out-while-waiting', async ({ access }) => {
      clock.skip(60);
      expect((await service.request('POST', '/auth/logout', { headers: access, body: {} })).status).toBe(204);
    });
    expect([refreshed.status, refreshed.body]).toEqual([401, INVALID_REFRESH]);
    const [session] = await sql<{ revoked_reason: string | null }>(service, 'SELECT revoked_reason FROM sessions WHERE id = ?', [sessionId]);
    expect(session.revoked_reason).toBe('logout');
  });

  const COOKIE = /^atiru_refresh=([A-Za-z0-9_-]{43});/;
  const maxAgeOf = (response: TestResponse) => Number(/; Max-Age=(\d+);/.exec(response.headers.get('set-cookie') ?? '')?.[1]);
  const cookieRefresh = (token: string) => service.request('POST', '/auth/refresh', { body: {}, headers: { 'x-atiru-refresh': 'cookie', cookie: `atiru_refresh=${token}` } });

  it('refreshes a session used every 20 days until 90 days after its login, then answers 401 and clears the cookie, as for an expired one', async () => {
    const email = uniqueEmail('lifetime');
    await createConfirmedUser(service, email, PASSWORD);
    const opened = await service.request('POST', '/auth/login', { body: { email, password: PASSWORD, refresh_cookie: true } });
    let token = COOKIE.exec(opened.headers.get('set-cookie') ?? '')![1];
    expect(maxAgeOf(opened)).toBe(30 * DAY);
    const [session] = await sql<{ created_at: string }>(service, 'SELECT s.created_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?', [email]);
    const lifetimeEnd = new Date(session.created_at).getTime() + 90 * DAY * 1000;

    for (const day of [20, 40, 60, 80]) {
      clock.skip(20 * DAY);
      const refreshed = await cookieRefresh(token);
      expect({ day, status: refreshed.status }).toEqual({ day, status: 200 });
      token = COOKIE.exec(refreshed.headers.get('set-cookie') ?? '')![1];
      // The cookie lives as long as its token: 30 days from the refresh, but on day 80 only until day 90.
      // In minutes: the token's end is reckoned from the refresh's instant, a moment after the day began.
      expect({ day, minutes: Math.round(maxAgeOf(refreshed) / 60) }).toEqual({ day, minutes: (Math.min(30, 90 - day) * DAY) / 60 });
      expect((await service.request('GET', '/users/me', { headers: { authorization: `Bearer ${refreshed.body.session.access_token}` } })).status).toBe(200);
    }
    // Refreshed on day 80, the session and its newest token end on day 90, not 30 days later.
    const [ends] = await sql<{ session_ends: string; token_ends: string }>(
      service,
      `SELECT s.expires_at AS session_ends, t.expires_at AS token_ends FROM sessions s JOIN users u ON u.id = s.user_id
         JOIN refresh_tokens t ON t.session_id = s.id AND t.retired_at IS NULL WHERE u.email = ?`,
      [email],
    );
    expect({ session: new Date(ends.session_ends).getTime(), token: new Date(ends.token_ends).getTime() }).toEqual({ session: lifetimeEnd, token: lifetimeEnd });

    clock.skip(10 * DAY);
    const refused = await cookieRefresh(token);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID_REFRESH);
    expect(refused.headers.get('set-cookie')).toMatch(/^atiru_refresh=; Max-Age=0;/);
  });

  it('refuses a session past its maximum lifetime whose expiry slid beyond it before the cap (a session refreshed under an older release)', async () => {
    const email = uniqueEmail('lifetime');
    await createConfirmedUser(service, email, PASSWORD);
    let token = (await login(service, email, PASSWORD)).session.refresh_token;
    clock.skip(20 * DAY);
    token = (await service.request('POST', '/auth/refresh', { body: { refresh_token: token } })).body.session.refresh_token;
    // What an older release left behind: opened 91 days ago, yet live for weeks by its sliding expiry.
    await sql(
      service,
      `UPDATE sessions s SET created_at = s.created_at - interval '71 days' FROM users u WHERE u.id = s.user_id AND u.email = ?`,
      [email],
    );
    const refused = await service.request('POST', '/auth/refresh', { body: { refresh_token: token } });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID_REFRESH);

    // Nor is it among the account's live sessions, which a new login lists.
    const fresh = await login(service, email, PASSWORD);
    const listed = await service.request('GET', '/auth/sessions', { headers: { authorization: `Bearer ${fresh.session.access_token}` } });
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.map((session: { current: boolean }) => session.current)).toEqual([true]);
  });
});

