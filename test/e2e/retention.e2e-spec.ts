import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { SESSION_REVOKED_CHANNEL } from '../../src/auth/tokens/session-revocation.subjects';
import { RETENTION_BATCH_SIZE, RetentionWorker } from '../../src/database/retention.worker';
import { sql } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

const MAIL_DAYS = 10;
const SESSION_DAYS = 20;
const TOKEN_DAYS = 3;

/** A day either side of a retention: well past it, or well within it. */
const ago = (days: number) => `now() - interval '${days} days'`;
const ahead = (days: number) => `now() + interval '${days} days'`;
const hash = () => randomBytes(32).toString('hex');

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
      env: { MAIL_RETENTION_DAYS: String(MAIL_DAYS), SESSION_RETENTION_DAYS: String(SESSION_DAYS), ONE_TIME_TOKEN_RETENTION_DAYS: String(TOKEN_DAYS) },
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
    const listener = new Client({ connectionString: service.database.url });
    const heard: string[] = [];
    await listener.connect();
    // Ended before the database is dropped, whatever the test finds: else its end is an unhandled error.
    try {
      listener.on('notification', (message) => {
        if (message.payload?.startsWith('revoked:')) heard.push(message.payload);
      });
      await listener.query(`LISTEN ${SESSION_REVOKED_CHANNEL}`);

      expect(await worker.purge()).toEqual({ 'sent mails': 1, 'failed mails': 1, 'expired one-time tokens': 1, 'ended sessions': 2 });

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

      expect(await worker.purge()).toEqual({ 'sent mails': 0, 'failed mails': 0, 'expired one-time tokens': 0, 'ended sessions': 0 });

      // A revocation committed after the purge is heard after anything the purge sent.
      const marker = randomUUID();
      await sql(service, `INSERT INTO users (id, email, password_hash) VALUES (?, 'retention-marker@example.com', 'x')`, [marker]);
      await sql(service, `INSERT INTO sessions (id, user_id, expires_at) VALUES (?, ?, ${ahead(1)})`, [randomUUID(), marker]);
      await sql(service, 'UPDATE sessions SET revoked_at = now() WHERE user_id = ?', [marker]);
      await waitUntil(async () => heard.length > 0, 'the marker revocation');
      expect(heard).toEqual([`revoked::${marker}`]);
    } finally {
      await listener.end();
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
});
