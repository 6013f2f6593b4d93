import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { API_KEY_REVOKED_CHANNEL } from '../../src/api-keys/api-key-revocation.listener';
import { SESSION_REVOKED_CHANNEL } from '../../src/auth/tokens/session-revocation.subjects';
import { RETENTION_BATCH_SIZE, RetentionWorker } from '../../src/database/retention.worker';
import { sql } from '../support/accounts';
import { signedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

const MAIL_DAYS = 10;
const SESSION_DAYS = 20;
const TOKEN_DAYS = 3;
/** Shorter than a roll's longest grace period (a week), as an operator may set it. */
const KEY_DAYS = 5;

/** A day either side of a retention: well past it, or well within it. */
const ago = (days: number) => `now() - interval '${days} days'`;
const ahead = (days: number) => `now() + interval '${days} days'`;
const hash = () => randomBytes(32).toString('hex');

/** A session listening on a revocation channel, and the revocations it has heard there. */
async function revocationsHeard(url: string, channel: string): Promise<{ heard: string[]; end: () => Promise<void> }> {
  const listener = new Client({ connectionString: url });
  const heard: string[] = [];
  await listener.connect();
  listener.on('notification', (message) => {
    if (message.payload?.startsWith('revoked:')) heard.push(message.payload);
  });
  try {
    await listener.query(`LISTEN ${channel}`);
  } catch (error) {
    await listener.end();
    throw error;
  }
  return { heard, end: () => listener.end() };
}

/**
 * Rows that served their purpose are deleted some days after they did, by a worker, in small
 * batches; everything newer, and everything still in use, stays.
 */
describe('retention (real app, one PostgreSQL)', () => {
  let service: TestApp;
  let worker: RetentionWorker;
  let userId: string;

  beforeAll(async () => {
    service = await startTestApp({
      env: {
        MAIL_RETENTION_DAYS: String(MAIL_DAYS),
        SESSION_RETENTION_DAYS: String(SESSION_DAYS),
        ONE_TIME_TOKEN_RETENTION_DAYS: String(TOKEN_DAYS),
        API_KEY_RETENTION_DAYS: String(KEY_DAYS),
      },
    });
    worker = service.app.get(RetentionWorker);
    // The tests purge by calling the worker. Its own ticks (the first runs at start, and on a loaded
    // machine it can still be running) would delete the same rows meanwhile: its polling stops here,
    // after the tick in flight, as it does when the application closes.
    await worker.onModuleDestroy();
    userId = randomUUID();
    await sql(service, `INSERT INTO users (id, email, password_hash) VALUES (?, 'retention@example.com', 'x')`, [userId]);
  });

  afterAll(async () => {
    await service?.close();
  });

  async function addMail(label: string, status: 'pending' | 'sent' | 'failed', endedAt: string): Promise<void> {
    const payload = JSON.stringify({ subject: label, text: `${label} body`, html: `<p>${label}</p>` });
    // Pending mails are due tomorrow: the outbox worker leaves them alone during the test.
    await sql(
      service,
      `INSERT INTO mail_outbox (recipient, template, payload, status, next_attempt_at, created_at, sent_at, failure, failed_at)
       VALUES ('retention@example.com', ?, ?::jsonb, ?, ${ahead(1)}, ${endedAt}, ${status === 'sent' ? endedAt : 'NULL'},
               ${status === 'failed' ? `'retries_exhausted'` : 'NULL'}, ${status === 'failed' ? endedAt : 'NULL'})`,
      [label, payload, status],
    );
  }

  async function addToken(label: string, expiresAt: string, usedAt = 'NULL'): Promise<void> {
    await sql(
      service,
      `INSERT INTO one_time_tokens (id, token_hash, purpose, user_id, created_at, expires_at, used_at, redirect_to)
       VALUES (?, ?, 'reset_password', ?, ${ago(40)}, ${expiresAt}, ${usedAt}, ?)`,
      [randomUUID(), hash(), userId, label],
    );
  }

  /** A session with a chain of three refresh tokens, each replaced by the next, as refreshes leave them. */
  async function addSession(label: string, expiresAt: string, revokedAt = 'NULL'): Promise<void> {
    const id = randomUUID();
    await sql(
      service,
      `INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, user_agent) VALUES (?, ?, ${ago(100)}, ${expiresAt}, ${revokedAt}, ?)`,
      [id, userId, label],
    );
    const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
    // One statement: a token names its successor before the successor exists, until the end of it.
    await sql(
      service,
      `INSERT INTO refresh_tokens (id, token_hash, session_id, parent_id, created_at, expires_at, retired_at, replaced_by_id)
       VALUES (?, ?, ?, NULL, ${ago(100)}, ${expiresAt}, ${ago(99)}, ?),
              (?, ?, ?, ?, ${ago(99)}, ${expiresAt}, ${ago(98)}, ?),
              (?, ?, ?, ?, ${ago(98)}, ${expiresAt}, NULL, NULL)`,
      [first, hash(), id, second, second, hash(), id, first, third, third, hash(), id, second],
    );
  }

  it('deletes sent and failed mails, expired one-time tokens and ended sessions past their retention, and keeps the rest', async () => {
    await addMail('sent long ago', 'sent', ago(MAIL_DAYS + 1));
    await addMail('sent lately', 'sent', ago(MAIL_DAYS - 1));
    await addMail('failed long ago', 'failed', ago(MAIL_DAYS + 1));
    await addMail('failed lately', 'failed', ago(MAIL_DAYS - 1));
    await addMail('pending for ages', 'pending', ago(MAIL_DAYS * 10));

    await addToken('expired long ago', ago(TOKEN_DAYS + 1));
    await addToken('expired lately', ago(TOKEN_DAYS - 1));
    await addToken('used, not expired', ahead(1), ago(TOKEN_DAYS + 1));
    await addToken('live', ahead(1));

    await addSession('revoked long ago', ahead(1), ago(SESSION_DAYS + 1));
    await addSession('expired long ago', ago(SESSION_DAYS + 1));
    await addSession('revoked lately', ahead(1), ago(SESSION_DAYS - 1));
    await addSession('expired lately', ago(SESSION_DAYS - 1));
    await addSession('live for ages', ahead(1));

    // What the sessions' revocation channel carries meanwhile: ended sessions are served nowhere,
    // so deleting them must not make every instance re-read their users' live sessions.
    const { heard, end } = await revocationsHeard(service.database.url, SESSION_REVOKED_CHANNEL);
    // Ended before the database is dropped, whatever the test finds: else its end is an unhandled error.
    try {

      expect(await worker.purge()).toEqual({ 'sent mails': 1, 'failed mails': 1, 'expired one-time tokens': 1, 'ended sessions': 2, 'ended API keys': 0 });

      const mails = await sql(service, 'SELECT template FROM mail_outbox ORDER BY id');
      expect(mails.map((row) => row.template)).toEqual(['sent lately', 'failed lately', 'pending for ages']);
      const tokens = await sql(service, 'SELECT redirect_to FROM one_time_tokens ORDER BY created_at, redirect_to');
      expect(tokens.map((row) => row.redirect_to).sort()).toEqual(['expired lately', 'live', 'used, not expired']);
      const sessions = await sql(service, 'SELECT user_agent, (SELECT count(*)::int FROM refresh_tokens t WHERE t.session_id = s.id) AS tokens FROM sessions s');
      expect(sessions.map((row) => [row.user_agent, row.tokens]).sort()).toEqual([
        ['expired lately', 3],
        ['live for ages', 3],
        ['revoked lately', 3],
      ]);
      // The deleted sessions' refresh tokens went with them.
      expect(await sql(service, 'SELECT count(*)::int AS count FROM refresh_tokens')).toEqual([{ count: 9 }]);

      expect(await worker.purge()).toEqual({ 'sent mails': 0, 'failed mails': 0, 'expired one-time tokens': 0, 'ended sessions': 0, 'ended API keys': 0 });

      // A revocation committed after the purge is heard after anything the purge sent.
      const marker = randomUUID();
      await sql(service, `INSERT INTO users (id, email, password_hash) VALUES (?, 'retention-marker@example.com', 'x')`, [marker]);
      await sql(service, `INSERT INTO sessions (id, user_id, expires_at) VALUES (?, ?, ${ahead(1)})`, [randomUUID(), marker]);
      await sql(service, 'UPDATE sessions SET revoked_at = now() WHERE user_id = ?', [marker]);
      await waitUntil(async () => heard.length > 0, 'the marker revocation');
      expect(heard).toEqual([`revoked::${marker}`]);
    } finally {
      await end();
    }
  });

  it('deletes in batches; two rounds at once (two instances) share the rows without waiting on each other', async () => {
    const rows = RETENTION_BATCH_SIZE + RETENTION_BATCH_SIZE / 2;
    await sql(
      service,
      `INSERT INTO mail_outbox (recipient, template, payload, status, created_at, sent_at)
       SELECT 'retention@example.com', 'bulk', '{"subject":"bulk"}'::jsonb, 'sent', ${ago(MAIL_DAYS + 1)}, ${ago(MAIL_DAYS + 1)} FROM generate_series(1, ?)`,
      [rows],
    );

    const rounds = await Promise.all([worker.purge(), worker.purge()]);
    const counts = rounds.map((round) => round['sent mails']);
    expect(Math.max(...counts)).toBeLessThanOrEqual(RETENTION_BATCH_SIZE);
    let deleted = counts[0] + counts[1];
    for (let round = await worker.purge(); round['sent mails'] > 0; round = await worker.purge()) deleted += round['sent mails'];
    expect(deleted).toBe(rows);
    expect(await sql(service, `SELECT count(*)::int AS count FROM mail_outbox WHERE template = 'bulk'`)).toEqual([{ count: 0 }]);
  });

  it('deletes API keys revoked or expired past their retention with their usage days, keeps the rest, and their owner and credential meet an unknown key', async () => {
    const owner = await signedInUser(service.app, 'key-retention@example.com');
    const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const create = async (name: string, body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> => {
      const created = await service.request('POST', '/auth/api-keys', { headers: owner.jwt, body: { name, ...body } });
      expect(created.status).toBe(201);
      return created.body;
    };
    const roll = async (id: string, graceSeconds: number) => service.request('POST', `/auth/api-keys/${id}/roll`, { headers: owner.jwt, body: { grace_period_seconds: graceSeconds } });
    const listed = async () => {
      const list = await service.request('GET', '/auth/api-keys', { headers: owner.jwt });
      expect(list.status).toBe(200);
      return (list.body.api_keys as Array<{ id: string; replaced_by: string | null }>).map((key) => [key.id, key.replaced_by]);
    };
    const usage = async (id: string) => {
      const answer = await service.request('GET', `/auth/api-keys/${id}/usage`, { headers: owner.jwt });
      return { status: answer.status, code: answer.body.code, days: answer.body.days?.length };
    };
    const me = async (key: string) =>
      Promise.all(([{ 'x-api-key': key }, { authorization: `Bearer ${key}` }] as Array<Record<string, string>>).map(async (headers) => {
        const answer = await service.request('GET', '/users/me', { headers });
        return { status: answer.status, code: answer.body.code };
      }));

    const revokedLongAgo = await create('revoked long ago');
    const revokedLately = await create('revoked lately');
    const active = await create('active');
    const unexpired = await create('unexpired', { expires_at: inAMonth });
    const expiredLongAgo = await create('expired long ago', { expires_at: inAMonth });
    const expiredLately = await create('expired lately', { expires_at: inAMonth });
    // Rolled with no grace: revoked at once, naming its replacement, which was revoked long ago.
    const revokedRolled = await create('rolled, revoked lately');
    const revokedRolledReplacement = (await roll(revokedRolled.id, 0)).body as { id: string };
    // Rolled with a week's grace: it still works, naming its replacement, which was revoked long ago.
    const inGrace = await create('rolled, in its grace period');
    const inGraceReplacement = (await roll(inGrace.id, 7 * 86_400)).body as { id: string };

    for (const [key, column, at] of [
      [revokedLongAgo, 'revoked_at', ago(KEY_DAYS + 1)],
      [revokedLately, 'revoked_at', ago(KEY_DAYS - 1)],
      [expiredLongAgo, 'expires_at', ago(KEY_DAYS + 1)],
      [expiredLately, 'expires_at', ago(KEY_DAYS - 1)],
      [revokedRolledReplacement, 'revoked_at', ago(KEY_DAYS + 1)],
      [inGraceReplacement, 'revoked_at', ago(KEY_DAYS + 1)],
    ] as const) {
      await sql(service, `UPDATE api_keys SET ${column} = ${at} WHERE id = ?`, [key.id]);
    }
    // Counts of yesterday, within the usage days' own retention.
    for (const key of [revokedLongAgo, expiredLongAgo, revokedLately, active]) {
      await sql(service, `INSERT INTO api_key_usage_days (api_key_id, day, succeeded, refused) VALUES (?, current_date - 1, 3, 1)`, [key.id]);
    }
    const working = [
      [inGrace.id, inGraceReplacement.id],
      [unexpired.id, null],
      [active.id, null],
    ];
    expect(await listed()).toEqual(working);
    // What the owner sees of a revoked key until it is deleted: its usage.
    expect(await usage(revokedLongAgo.id)).toEqual({ status: 200, code: undefined, days: 1 });

    // What the API-key revocation channel carries meanwhile: ended keys are served nowhere, so
    // deleting them tells no instance anything.
    const { heard, end } = await revocationsHeard(service.database.url, API_KEY_REVOKED_CHANNEL);
    try {

      expect((await worker.purge())['ended API keys']).toBe(2);

      const marker = hash();
      await sql(service, `INSERT INTO api_keys (id, user_id, key_prefix, key_hash) VALUES (?, ?, 'atiru_mark', decode(?, 'hex'))`, [randomUUID(), owner.id, marker]);
      await sql(service, `UPDATE api_keys SET revoked_at = now() WHERE key_hash = decode(?, 'hex')`, [marker]);
      await waitUntil(async () => heard.length > 0, 'the marker revocation');
      expect(heard).toEqual([`revoked::${marker}`]);
    } finally {
      await end();
    }

    const kept = await sql<{ id: string; replaced_by: string | null }>(service, `SELECT id, replaced_by FROM api_keys WHERE user_id = ? AND key_prefix <> 'atiru_mark'`, [owner.id]);
    expect(new Map(kept.map((row) => [row.id, row.replaced_by]))).toEqual(
      new Map([
        [revokedLately.id, null],
        [active.id, null],
        [unexpired.id, null],
        [expiredLately.id, null],
        // A key another key names stays until that one is deleted: deleting it would change that
        // one's row, which another instance's purge may hold.
        [revokedRolled.id, revokedRolledReplacement.id],
        [revokedRolledReplacement.id, null],
        // So does one named by a key in its grace period: the list still shows the roll, and it cannot be rolled again.
        [inGrace.id, inGraceReplacement.id],
        [inGraceReplacement.id, null],
      ]),
    );
    const days = await sql<{ api_key_id: string }>(service, 'SELECT api_key_id FROM api_key_usage_days WHERE api_key_id IN (?, ?, ?, ?)', [
      revokedLongAgo.id,
      expiredLongAgo.id,
      revokedLately.id,
      active.id,
    ]);
    expect(days.map((row) => row.api_key_id).sort()).toEqual([revokedLately.id, active.id].sort());

    // The owner's list is unchanged; a deleted key is as unknown as one never made, to its owner and as a credential.
    expect(await listed()).toEqual(working);
    expect(await usage(revokedLongAgo.id)).toEqual({ status: 404, code: 'NOT_FOUND', days: undefined });
    expect(await usage(revokedLately.id)).toEqual({ status: 200, code: undefined, days: 1 });
    const refused = { status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' };
    for (const key of [revokedLongAgo, expiredLongAgo]) expect(await me(key.key)).toEqual([refused, refused]);
    expect(await me(active.key)).toEqual([{ status: 200, code: undefined }, { status: 200, code: undefined }]);
    expect((await roll(inGrace.id, 60)).status).toBe(404);
    expect((await service.request('DELETE', `/auth/api-keys/${revokedLongAgo.id}`, { headers: owner.jwt })).body.code).toBe('NOT_FOUND');

    // Once the rolled keys are past their retention too, each chain goes from its oldest end: the
    // key that names, then the key it named, at the next round. No round clears a name.
    await sql(service, `UPDATE api_keys SET expires_at = ${ago(KEY_DAYS + 1)} WHERE id IN (?, ?)`, [inGrace.id, revokedRolled.id]);
    expect((await worker.purge())['ended API keys']).toBe(2);
    const left = await sql<{ id: string; replaced_by: string | null }>(service, 'SELECT id, replaced_by FROM api_keys WHERE id IN (?, ?, ?, ?)', [
      inGrace.id,
      inGraceReplacement.id,
      revokedRolled.id,
      revokedRolledReplacement.id,
    ]);
    expect(left.map((row) => [row.id, row.replaced_by]).sort()).toEqual([
      [inGraceReplacement.id, null],
      [revokedRolledReplacement.id, null],
    ].sort());
    expect((await worker.purge())['ended API keys']).toBe(2);
    expect(await sql(service, 'SELECT id FROM api_keys WHERE id IN (?, ?)', [inGraceReplacement.id, revokedRolledReplacement.id])).toEqual([]);
  });
});
