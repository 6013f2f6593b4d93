import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { inTransaction } from '../../src/database/transaction';
import { LogFingerprint } from '../../src/common/logging/log.fingerprint';
import { MailMessage } from '../../src/mail/mail-message';
import { MailOutboxRepository } from '../../src/mail/mail-outbox.repository';
import { MailService } from '../../src/mail/mail.service';
import { OUTBOX_BATCH_SIZE, OUTBOX_SEND_CONCURRENCY, OutboxWorker } from '../../src/mail/outbox.worker';
import { MetricsService } from '../../src/metrics/metrics.service';
import { MAIL_TRANSPORT, MailTransport } from '../../src/mail/mail-transport';
import { sql } from '../support/accounts';
import { runCompiledCommand } from '../support/compiled-service';
import { sample } from '../support/prometheus';
import { TestSmtpServer } from '../support/smtp';
import { TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { sleep, waitUntil } from '../support/wait';

interface OutboxRow {
  id: string;
  recipient: string;
  template: string;
  status: 'pending' | 'sent' | 'failed';
  failure: 'rejected' | 'retries_exhausted' | null;
  attempts: number;
  last_error: string | null;
  sent_at: string | null;
  /** What the row still holds of the mail: the link while it has its text, else null. */
  stored_text: string | null;
}

/** `npm run mail:resend -- …args`, the compiled command, against the service's database. */
const runResend = (service: TestApp, ...args: string[]) => runCompiledCommand('mail-resend', args, { DATABASE_URL: service.database.url });

/** One sample of the service's metrics, as Prometheus would scrape it. */
async function metric(service: TestApp, series: string): Promise<number | undefined> {
  return sample(await service.app.get(MetricsService).registry.metrics(), series);
}

/** Enqueues through the real MailService inside a real transaction, committed or rolled back. */
async function enqueue(service: TestApp, messages: MailMessage[], outcome: 'commit' | 'rollback' = 'commit'): Promise<void> {
  const mail = service.app.get(MailService);
  const work = inTransaction(service.app.get(EntityManager), async (em) => {
    for (const message of messages) await mail.enqueue(em, message);
    if (outcome === 'rollback') throw new Error('the change that caused the mail failed');
  });
  if (outcome === 'rollback') await expect(work).rejects.toThrow('the change that caused the mail failed');
  else await work;
}

async function outboxRows(service: TestApp, recipientLike = '%'): Promise<OutboxRow[]> {
  return sql<OutboxRow>(
    service,
    `SELECT id, recipient, template, status, failure, attempts, last_error, sent_at, payload->>'text' AS stored_text
     FROM mail_outbox WHERE recipient LIKE ? ORDER BY id`,
    [recipientLike],
  );
}

/** Waits until the (single) outbox row for `recipient` satisfies `done`, and answers it. */
async function waitForRow(service: TestApp, recipient: string, done: (row: OutboxRow) => boolean, what: string, timeoutMs?: number): Promise<OutboxRow> {
  return waitUntil(
    async () => {
      const [row] = await outboxRows(service, recipient);
      return row && done(row) && row;
    },
    what,
    timeoutMs,
  );
}

/** The app with its outbox worker stopped, as it stops when the app closes: the test makes the claims itself. */
async function startWithoutWorker(): Promise<TestApp> {
  const service = await startTestApp();
  await service.app.get(OutboxWorker).onModuleDestroy();
  return service;
}

interface SendGate {
  /** Sends waiting at the gate (and, once it is open, gone through it). */
  entered: number;
  open(): void;
}

/**
 * Holds each send of `instance` until the test opens the gate, then hands it to the real SMTP
 * transport, or fails it for now if `fail` says so. A worker holding a batch claims no other.
 */
function gateSends(instance: TestApp, fail: (to: string) => boolean = () => false): SendGate {
  const transport = instance.app.get<MailTransport>(MAIL_TRANSPORT);
  const send = transport.send.bind(transport);
  const gate = { entered: 0, open: () => {} };
  const opened = new Promise<void>((resolve) => (gate.open = resolve));
  transport.send = async (mail) => {
    gate.entered++;
    await opened;
    if (fail(mail.to)) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ECONNREFUSED' });
    return send(mail);
  };
  return gate;
}

const confirm = (to: string, token = 'tok-' + to): MailMessage => ({ template: 'confirm-email', to, link: `http://127.0.0.1:3000/auth/confirm?token=${token}` });
const reset = (to: string): MailMessage => ({ template: 'password-reset', to, link: `http://127.0.0.1:3000/reset?token=tok-${to}` });

/** Notices: nobody is waiting for them as they are sent. */
const keyCreated = (to: string): MailMessage => ({
  template: 'api-key-created',
  to,
  link: 'http://127.0.0.1:3000/dashboard/api-keys',
  name: 'deploy',
  key_prefix: 'atiru_ab12cd',
  at: new Date(),
  ip: '203.0.113.7',
  user_agent: 'curl/8.5.0',
});
const keyRolled = (to: string): MailMessage => ({
  template: 'api-key-rolled',
  to,
  link: 'http://127.0.0.1:3000/dashboard/api-keys',
  name: 'deploy',
  key_prefix: 'atiru_ab12cd',
  new_key_prefix: 'atiru_ij56kl',
  old_key_ends_at: null,
  at: new Date(),
  ip: '203.0.113.7',
  user_agent: 'curl/8.5.0',
});
const passwordChanged = (to: string): MailMessage => ({
  template: 'password-changed',
  to,
  link: 'http://127.0.0.1:3000/dashboard',
  signed_out: 'others',
  at: new Date(),
  ip: '203.0.113.7',
  user_agent: 'curl/8.5.0',
});
const keyLeaked = (to: string): MailMessage => ({
  template: 'api-key-leaked',
  to,
  link: 'http://127.0.0.1:3000/dashboard/api-keys',
  name: null,
  key_prefix: 'atiru_ef34gh',
  at: new Date(),
  found_at: [{ url: 'https://github.com/example/repo/blob/main/.env', source: 'github' }],
});

describe('mail outbox with a real SMTP server', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  it('delivers a mail enqueued in a committed transaction, and never one from a rolled-back transaction', async () => {
    await enqueue(service, [confirm('ghost@example.com', 'ghost-token')], 'rollback');
    await enqueue(service, [confirm('ada@example.com', 'ada-token')]);

    const mail = await smtp.waitFor((received) => received.to.includes('ada@example.com'));
    expect(mail.subject).toBe('Confirm your email for Atiru');
    expect(mail.links).toEqual(['http://127.0.0.1:3000/auth/confirm?token=ada-token']);
    expect(mail.html).toContain('href="http://127.0.0.1:3000/auth/confirm?token=ada-token"');
    expect(mail.text).toContain('expires in 24 hours');

    const row = await waitForRow(service, 'ada@example.com', (found) => found.status === 'sent', 'the row to be marked sent');
    expect(row).toMatchObject({ template: 'confirm-email', status: 'sent', attempts: 1, last_error: null });
    expect(Date.parse(row.sent_at!)).toBeGreaterThan(Date.now() - 60_000);
    // Once delivered, the row keeps no copy of the one-time link.
    const [stored] = await sql<{ payload: unknown }>(service, 'SELECT payload FROM mail_outbox WHERE recipient = ?', ['ada@example.com']);
    expect(stored.payload).toEqual({ subject: 'Confirm your email for Atiru' });

    await sleep(300); // several poll intervals
    expect(await outboxRows(service, 'ghost@example.com')).toEqual([]);
    expect(smtp.mailsTo('ghost@example.com')).toEqual([]);
    expect(smtp.mailsTo('ada@example.com')).toHaveLength(1);
  });

  it('retries while the SMTP server is down for several attempts and delivers, link intact, once it is back on the same port', async () => {
    const port = smtp.port;
    await smtp.stop();
    let retrying: OutboxRow;
    try {
      await enqueue(service, [{ template: 'password-reset', to: 'grace@example.com', link: 'http://127.0.0.1:3000/reset?token=grace-token' }]);
      retrying = await waitForRow(service, 'grace@example.com', (found) => found.attempts >= 4, 'four failed attempts');
      expect(retrying).toMatchObject({ status: 'pending', failure: null, last_error: expect.stringMatching(/ECONNREFUSED/) });
      expect(retrying.stored_text).toContain('http://127.0.0.1:3000/reset?token=grace-token');
      expect(retrying.last_error).not.toContain('grace-token');
      const grace = service.app.get(LogFingerprint).email('grace@example.com');
      const retryWarnings = service.logs.entries().filter((entry) => entry.level === 40 && entry.email_hash === grace.email_hash && /^mail \d+ \(password-reset\): attempt \d+ failed, retrying/.test(entry.msg));
      expect(retryWarnings.length).toBeGreaterThanOrEqual(4);
      expect(smtp.mailsTo('grace@example.com')).toEqual([]);
    } finally {
      await smtp.start(port);
    }

    const mail = await smtp.waitFor((received) => received.to.includes('grace@example.com'));
    expect(mail.subject).toBe('Reset your Atiru password');
    expect(mail.links).toEqual(['http://127.0.0.1:3000/reset?token=grace-token']);
    expect(mail.html).toContain('href="http://127.0.0.1:3000/reset?token=grace-token"');
    const sent = await waitForRow(service, 'grace@example.com', (found) => found.status === 'sent', 'the row to be marked sent');
    expect(sent.attempts).toBeGreaterThan(retrying.attempts);
    await sleep(200);
    expect(smtp.mailsTo('grace@example.com')).toHaveLength(1);
  });

  it('retries a mail whose server takes the connection and never answers (a timeout), and delivers once it answers again', async () => {
    await smtp.stall();
    try {
      await enqueue(service, [confirm('patient@example.com', 'patient-token')]);
      const timedOut = await waitForRow(service, 'patient@example.com', (found) => found.attempts >= 1, 'an attempt to time out', 30_000);
      expect(timedOut).toMatchObject({ status: 'pending', failure: null, last_error: expect.stringMatching(/ETIMEDOUT|timeout/i) });
      expect(timedOut.stored_text).toContain('token=patient-token');
    } finally {
      await smtp.start();
    }
    const mail = await smtp.waitFor((received) => received.to.includes('patient@example.com'), 30_000);
    expect(mail.links).toEqual(['http://127.0.0.1:3000/auth/confirm?token=patient-token']);
    await waitForRow(service, 'patient@example.com', (found) => found.status === 'sent', 'the mail to be marked sent');
    expect(smtp.mailsTo('patient@example.com')).toHaveLength(1);
  }, 90_000);
});

describe('mail outbox when delivery keeps failing', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    await smtp.stop(); // nothing listens on this port until the test starts it again
    service = await startTestApp({ env: { SMTP_URL: smtp.url, MAIL_MAX_ATTEMPTS: '3', MAIL_RETRY_BASE_MS: '50' } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  it('marks the mail failed after MAIL_MAX_ATTEMPTS, keeping its content, and logs an error without the link', async () => {
    await enqueue(service, [confirm('lost@example.com', 'lost-secret-token')]);
    const row = await waitForRow(service, 'lost@example.com', (found) => found.status === 'failed', 'the mail to be marked failed');
    expect(row).toMatchObject({ status: 'failed', failure: 'retries_exhausted', attempts: 3, sent_at: null, last_error: expect.stringMatching(/ECONNREFUSED/) });
    expect(row.stored_text).toContain('http://127.0.0.1:3000/auth/confirm?token=lost-secret-token');

    const errors = service.logs.entries().filter((entry) => entry.level === 50 && entry.context === 'OutboxWorker');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ...service.app.get(LogFingerprint).email('lost@example.com'), msg: expect.stringMatching(/^mail \d+ \(confirm-email\) failed for good after 3 attempt\(s\): .*ECONNREFUSED/) });
    expect(service.logs.text).not.toContain('lost-secret-token');
    expect(await metric(service, 'atiru_mail_outbox_failed{reason="retries_exhausted"}')).toBe(1);
    expect(await metric(service, 'atiru_mail_delivery_attempts_total{outcome="temporary_failure"}')).toBe(3);

    await sleep(300); // a failed mail is left alone
    expect((await outboxRows(service, 'lost@example.com'))[0].attempts).toBe(3);
  });

  it('sends the failed mail again, as it was, on `mail:resend -- --since <time>` once the server is back', async () => {
    await smtp.start(smtp.port);
    expect(smtp.mailsTo('lost@example.com')).toEqual([]); // the server being back is not enough

    const [failed] = await outboxRows(service, 'lost@example.com');
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await runResend(service, '--since', later)).toEqual({ code: 0, stdout: 'no failed mail matches\n', stderr: '' });
    const { code, stdout, stderr } = await runResend(service, '--since', new Date(Date.now() - 60_000).toISOString());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(`requeued 1 failed mail(s), sent on the service's next poll: ${failed.id}\n`);

    const mail = await smtp.waitFor((received) => received.to.includes('lost@example.com'));
    expect(mail.subject).toBe('Confirm your email for Atiru');
    expect(mail.links).toEqual(['http://127.0.0.1:3000/auth/confirm?token=lost-secret-token']);
    expect(mail.html).toContain('href="http://127.0.0.1:3000/auth/confirm?token=lost-secret-token"');
    const sent = await waitForRow(service, 'lost@example.com', (found) => found.status === 'sent', 'the resent mail to be marked sent');
    expect(sent).toMatchObject({ id: failed.id, failure: null, attempts: 1, stored_text: null });
    expect(await metric(service, 'atiru_mail_outbox_failed{reason="retries_exhausted"}')).toBe(0);

    // Nothing failed is left: a second run says so, and sends nothing again.
    expect(await runResend(service, '--all-failed')).toEqual({ code: 0, stdout: 'no failed mail matches\n', stderr: '' });
    await sleep(200);
    expect(smtp.mailsTo('lost@example.com')).toHaveLength(1);
  });
});

describe('mail outbox when the SMTP server comes back after an outage', () => {
  it('tries at once, once a mail goes out again, the mails whose retries had backed off past the lease', async () => {
    const smtp = await new TestSmtpServer().start();
    await smtp.stop();
    // Retries a minute apart at first, so no retry runs while the test moves the held mails' times.
    const service = await startTestApp({ env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '60000' } });
    try {
      await enqueue(service, [confirm('held@example.com', 'held-token'), confirm('leased@example.com', 'leased-token')]);
      for (const recipient of ['held@example.com', 'leased@example.com']) await waitForRow(service, recipient, (found) => found.attempts === 1, 'a failed attempt');
      // As after a long outage: the held mail's next try is an hour away. The other is due within a
      // lease, as a row a worker has claimed is, and is left alone.
      await sql(service, `UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' WHERE recipient = ?`, ['held@example.com']);
      await sql(service, `UPDATE mail_outbox SET next_attempt_at = now() + interval '4 minutes' WHERE recipient = ?`, ['leased@example.com']);

      await smtp.start(smtp.port);
      await enqueue(service, [confirm('fresh@example.com', 'fresh-token')]);
      await smtp.waitFor((received) => received.to.includes('held@example.com'), 20_000);
      await waitForRow(service, 'held@example.com', (found) => found.status === 'sent', 'the held mail to be marked sent');
      expect(service.logs.entries().some((entry) => entry.context === 'OutboxWorker' && /^mail delivery recovered: 1 mail\(s\)/.test(entry.msg))).toBe(true);
      const [leased] = await sql(service, `SELECT status, next_attempt_at > now() + interval '3 minutes' AS later FROM mail_outbox WHERE recipient = ?`, ['leased@example.com']);
      expect(leased).toEqual({ status: 'pending', later: true });
      expect(smtp.mailsTo('leased@example.com')).toEqual([]);
    } finally {
      await service.close();
      await smtp.stop();
    }
  }, 40_000);
});

describe('mail outbox when the service stops while the SMTP server holds a send', () => {
  it('waits for the send at most SHUTDOWN_TIMEOUT_SECONDS, and says it stopped without it', async () => {
    const smtp = await new TestSmtpServer().start();
    // A relay that has the whole mail and does not answer it: the socket timeout is far longer.
    smtp.acceptDelayMs = 60_000;
    const service = await startTestApp({ env: { SMTP_URL: smtp.url, SHUTDOWN_TIMEOUT_SECONDS: '1' } });
    let closed = false;
    try {
      await enqueue(service, [confirm('held-at-stop@example.com')]);
      await waitUntil(async () => smtp.contentsStarted > 0, 'the mail to reach the server');
      const stopping = Date.now();
      await service.close();
      closed = true;
      expect(Date.now() - stopping).toBeLessThan(10_000);
      expect(service.logs.entries().some((entry) => entry.context === 'OutboxWorker' && /^stopping with mail sends still waiting on the mail server after 1 s/.test(entry.msg))).toBe(true);
    } finally {
      if (!closed) await service.close();
      smtp.acceptDelayMs = 0;
      await smtp.stop();
    }
  }, 40_000);
});

describe('mail outbox when the SMTP server puts off one recipient', () => {
  it('keeps that mail\'s backoff when other mails go out: only a failure of the server itself is an outage to recover from', async () => {
    const smtp = await new TestSmtpServer().start();
    const service = await startTestApp({ env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '60000' } });
    try {
      smtp.refuse('grey@example.com', 451, 'Greylisted, try again later');
      await enqueue(service, [confirm('grey@example.com', 'grey-token')]);
      await waitForRow(service, 'grey@example.com', (found) => found.attempts === 1, 'a put-off attempt');
      await sql(service, `UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' WHERE recipient = ?`, ['grey@example.com']);

      await enqueue(service, [confirm('other@example.com', 'other-token')]);
      await waitForRow(service, 'other@example.com', (found) => found.status === 'sent', 'the other mail to be sent');
      await sleep(300);
      const [grey] = await sql(service, `SELECT status, attempts, next_attempt_at > now() + interval '30 minutes' AS later FROM mail_outbox WHERE recipient = ?`, ['grey@example.com']);
      expect(grey).toEqual({ status: 'pending', attempts: 1, later: true });
      expect(service.logs.entries().some((entry) => /^mail delivery recovered/.test(entry.msg ?? ''))).toBe(false);
    } finally {
      await service.close();
      await smtp.stop();
    }
  });
});

describe('mail outbox when the SMTP server refuses a recipient', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '50' } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  it('gives up a mail refused for good (550) at once, with the reason, and retries one refused for now (451)', async () => {
    smtp.refuse('gone@example.com', 550, '5.1.1 Mailbox unavailable');
    smtp.refuse('busy@example.com', 451, '4.3.0 Try again later');
    await enqueue(service, [confirm('gone@example.com', 'gone-token'), confirm('busy@example.com', 'busy-token')]);

    const busy = await waitForRow(service, 'busy@example.com', (found) => found.attempts >= 3, 'three attempts refused for now');
    expect(busy).toMatchObject({ status: 'pending', failure: null, last_error: expect.stringMatching(/451 4\.3\.0 Try again later/) });
    const [gone] = await outboxRows(service, 'gone@example.com');
    expect(gone).toMatchObject({ status: 'failed', failure: 'rejected', attempts: 1, sent_at: null, last_error: expect.stringMatching(/550 5\.1\.1 Mailbox unavailable/) });
    expect(gone.stored_text).toContain('token=gone-token');
    expect(service.logs.entries().filter((entry) => entry.level === 50 && entry.context === 'OutboxWorker').map((entry) => entry.msg)).toEqual([
      expect.stringMatching(/^mail \d+ \(confirm-email\) rejected by the mail server, not retried: .*550/),
    ]);
    expect(await metric(service, 'atiru_mail_outbox_failed{reason="rejected"}')).toBe(1);
    expect(await metric(service, 'atiru_mail_delivery_attempts_total{outcome="permanent_failure"}')).toBe(1);
    expect(await metric(service, 'atiru_mail_delivery_attempts_total{outcome="temporary_failure"}')).toBeGreaterThanOrEqual(3);

    smtp.accept('busy@example.com');
    const mail = await smtp.waitFor((received) => received.to.includes('busy@example.com'));
    expect(mail.links).toEqual(['http://127.0.0.1:3000/auth/confirm?token=busy-token']);
    await waitForRow(service, 'busy@example.com', (found) => found.status === 'sent', 'the mail refused for now to be sent');
    expect((await outboxRows(service, 'gone@example.com'))[0].attempts).toBe(1); // never tried again by itself
    expect(smtp.mailsTo('gone@example.com')).toEqual([]);
  });

  it('sends the rejected mail again, as it was, on `mail:resend -- --id <id>` once the mailbox exists', async () => {
    const [gone] = await outboxRows(service, 'gone@example.com');
    expect(await runResend(service, '--id', '999999999')).toEqual({ code: 1, stdout: 'no failed mail with id 999999999\n', stderr: '' });
    expect((await runResend(service, '--id', 'abc')).code).toBe(2);

    smtp.accept('gone@example.com');
    const { code, stdout } = await runResend(service, '--id', gone.id);
    expect({ code, stdout }).toEqual({ code: 0, stdout: `requeued 1 failed mail(s), sent on the service's next poll: ${gone.id}\n` });
    const mail = await smtp.waitFor((received) => received.to.includes('gone@example.com'));
    expect(mail.subject).toBe('Confirm your email for Atiru');
    expect(mail.links).toEqual(['http://127.0.0.1:3000/auth/confirm?token=gone-token']);
    await waitForRow(service, 'gone@example.com', (found) => found.status === 'sent', 'the resent mail to be marked sent');
    await sleep(200);
    expect(smtp.mailsTo('gone@example.com')).toHaveLength(1);
  });

  it('leaves alone, and names, a mail that failed before failed mails kept their text', async () => {
    const [{ id }] = await sql<{ id: string }>(
      service,
      `INSERT INTO mail_outbox (recipient, template, payload, status, failure, failed_at, attempts)
       VALUES ('emptied@example.com', 'confirm-email', '{"subject": "Confirm your email for Atiru"}', 'failed', 'retries_exhausted', now(), 8)
       RETURNING id::text AS id`,
    );
    expect(await runResend(service, '--id', id)).toEqual({
      code: 0,
      stdout: `not requeued, their text was removed when they failed (before failed mails kept it): ${id}\n`,
      stderr: '',
    });
    await sleep(200);
    expect((await outboxRows(service, 'emptied@example.com'))[0]).toMatchObject({ status: 'failed', attempts: 8 });
    expect(smtp.mailsTo('emptied@example.com')).toEqual([]);
  });
});

describe('mail outbox log lines', () => {
  it('name a recipient only by its domain and keyed hash, through failed attempts, a rejection quoting the address, and a delivery', async () => {
    const smtp = await new TestSmtpServer().start();
    await smtp.stop();
    const service = await startTestApp({ env: { SMTP_URL: smtp.url, MAIL_MAX_ATTEMPTS: '3', MAIL_RETRY_BASE_MS: '50' } });
    const fingerprint = service.app.get(LogFingerprint);
    const addresses = ['retried@private.example.com', 'echoed@private.example.com', 'delivered@private.example.com'];
    try {
      await enqueue(service, [confirm(addresses[0])]);
      await waitForRow(service, addresses[0], (found) => found.status === 'failed', 'the mail to fail for good');

      await smtp.start(smtp.port);
      // As Postfix answers an unknown mailbox: the reply quotes the address.
      smtp.refuse(addresses[1], 550, `5.1.1 <${addresses[1]}>: Recipient address rejected: User unknown`);
      await enqueue(service, [confirm(addresses[1]), confirm(addresses[2])]);
      const echoed = await waitForRow(service, addresses[1], (found) => found.status === 'failed', 'the mail to be rejected');
      expect(echoed.last_error).toContain(addresses[1]);
      await waitForRow(service, addresses[2], (found) => found.status === 'sent', 'the mail to be sent');

      const rows = await outboxRows(service, '%@private.example.com');
      const linesAbout = (id: string) => service.logs.entries().filter((entry) => entry.context === 'OutboxWorker' && entry.msg.startsWith(`mail ${id} `));
      expect(rows.map((row) => linesAbout(row.id).map((entry) => [entry.level, entry.email_domain, entry.email_hash]))).toEqual(
        rows.map((row, i) => {
          const { email_domain, email_hash } = fingerprint.email(row.recipient);
          const levels = [[40, 40, 50], [50], [20]][i];
          return levels.map((level) => [level, email_domain, email_hash]);
        }),
      );
      for (const address of addresses) expect(service.logs.text.toLowerCase()).not.toContain(address);
    } finally {
      await service.close();
      await smtp.stop();
    }
  });
});

describe('mail outbox when an outcome is written after its claim ran out', () => {
  it('records the deliveries, leaves the rest of the claim another instance took since as it is, and sends no mail a third time', async () => {
    const smtp = await new TestSmtpServer().start();
    const database = await createTestDatabase();
    const target = new URL(database.url);
    const proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    // A reaches the database through the proxy, to lose it; B polls rarely and is woken by the test.
    const a = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env: { SMTP_URL: smtp.url } });
    const b = await startTestApp({ database, env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '60000' } });
    const direct = new Client({ connectionString: database.url });
    await direct.connect();
    const gates: SendGate[] = [];
    const gated = (instance: TestApp, fail: (to: string) => boolean) => {
      const gate = gateSends(instance, fail);
      gates.push(gate);
      return gate;
    };
    const claims = async () =>
      (await direct.query(`SELECT id, recipient, status, attempts, next_attempt_at::text AS next_attempt_at FROM mail_outbox ORDER BY id`)).rows;
    try {
      const gateA = gated(a, (to) => to === 'retry@late.example.com');
      // B's send of one mail A delivered fails: its retry must not put that mail back in the queue.
      const gateB = gated(b, (to) => to === 'sent0@late.example.com');
      // A's batch: four sent, one failing for now (a retry), and the sixth never tried.
      const recipients = ['sent0', 'sent1', 'sent2', 'sent3', 'retry', 'untried'].map((name) => `${name}@late.example.com`);
      await enqueue(a, recipients.map((to) => confirm(to)));
      await waitUntil(async () => gateA.entered === OUTBOX_SEND_CONCURRENCY, 'A to start its sends');

      // The database goes away while A sends: A holds all six outcomes.
      proxy.cut();
      gateA.open();
      await sleep(500);
      // The outage outlasts A's lease (its claims end now), and B claims the mails and starts sending them.
      await direct.query(`UPDATE mail_outbox SET next_attempt_at = clock_timestamp()`);
      b.app.get(OutboxWorker).wake();
      await waitUntil(async () => gateB.entered === OUTBOX_SEND_CONCURRENCY, 'B to start its sends');
      const claimedByB = await claims();
      expect(claimedByB.map((row) => [row.recipient, row.status, row.attempts])).toEqual(recipients.map((to) => [to, 'pending', 0]));

      // The database is back: A writes what it held, late.
      proxy.restore();
      await waitUntil(async () => b.logs.entries().some((entry) => entry.context === 'OutboxWorker' && /^outbox recovered after/.test(entry.msg)), 'A to reach the database again');
      await sleep(300); // past the retry's delay, had A written it
      // A's deliveries are recorded, whoever holds the mails now; its retry and release are not.
      const afterA = await claims();
      expect(afterA.slice(0, 4).map((row) => [row.recipient, row.status, row.attempts])).toEqual(recipients.slice(0, 4).map((to) => [to, 'sent', 1]));
      expect(afterA.slice(4)).toEqual(claimedByB.slice(4));
      const { rows: due } = await direct.query(`SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()`);
      expect(due).toEqual([]);

      // B finishes its claim: its copies of A's deliveries go out once more (the re-send decision 010
      // accepts) and are named in a warning; its failed send of one of them queues nothing again.
      // (Nest's Logger is process-wide: both instances' lines reach the capture of B, created last.)
      gateB.open();
      const twice = () => b.logs.entries().filter((entry) => entry.context === 'OutboxWorker' && entry.level === 40 && /already recorded it sent/.test(entry.msg));
      await waitUntil(async () => (await claims()).every((row) => row.status === 'sent') && twice().length === 3, 'B to finish its claim');
      await sleep(300); // room for a third copy to show up
      expect(recipients.map((to) => smtp.mailsTo(to).length)).toEqual([1, 2, 2, 2, 1, 1]);
      expect((await claims()).map((row) => row.attempts)).toEqual(recipients.map(() => 1));
      const fingerprint = a.app.get(LogFingerprint);
      // In the order of the mails' ids: B's sends finish in any order.
      expect(twice().sort((x, y) => x.msg.localeCompare(y.msg))).toEqual(
        claimedByB.slice(1, 4).map((row) => expect.objectContaining({ msg: expect.stringMatching(new RegExp(`^mail ${row.id} \\(confirm-email\\) sent, and another worker`)), ...fingerprint.email(row.recipient) })),
      );
    } finally {
      // An instance's close waits for its sends.
      for (const gate of gates) gate.open();
      proxy.restore();
      await direct.end();
      await a.close();
      await b.close();
      await proxy.stop();
      await database.drop();
      await smtp.stop();
    }
  });
});

describe('mail outbox when a delivery is written late, after the mail failed and was sent again', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startWithoutWorker();
  });

  afterAll(async () => {
    await service?.close();
  });

  it('leaves the copy asked for since to its own claim: the late delivery does not mark it sent', async () => {
    const repository = service.app.get(MailOutboxRepository);
    const em = () => service.app.get(EntityManager).fork();
    const row = async () => (await sql<{ status: string; attempts: number; failed: boolean }>(service, 'SELECT status, attempts, failed_at IS NOT NULL AS failed FROM mail_outbox'))[0];
    await sql(service, `INSERT INTO mail_outbox (recipient, template, payload) VALUES ('late@example.com', 'confirm-email', '{"subject": "s", "text": "t"}')`);
    const [byA] = await repository.claimDueBatch(em(), OUTBOX_BATCH_SIZE, 60_000);

    // A delivers but cannot write it; its lease runs out, B claims the mail and the server refuses it for good.
    await sql(service, 'UPDATE mail_outbox SET next_attempt_at = clock_timestamp()');
    const [byB] = await repository.claimDueBatch(em(), OUTBOX_BATCH_SIZE, 60_000);
    expect(await repository.markFailed(em(), byB, 'rejected', '550 5.1.1 Mailbox unavailable')).toBe(true);
    // The operator sends it again (`mail:resend`); then A's delivery, held all along, is written.
    expect((await repository.requeueFailed(em(), { id: String(byA.id) })).requeued).toEqual([String(byA.id)]);
    expect(await repository.markSent(em(), byA)).toBe(false);
    expect(await row()).toEqual({ status: 'pending', attempts: 0, failed: true });

    // The copy asked for is sent under its own claim, which records it.
    const [byC] = await repository.claimDueBatch(em(), OUTBOX_BATCH_SIZE, 60_000);
    expect(await repository.markSent(em(), byC)).toBe(true);
    expect(await row()).toEqual({ status: 'sent', attempts: 1, failed: false });
  });
});

describe('mail outbox drained by two instances on one database', () => {
  let smtp: TestSmtpServer;
  let database: TestDatabase;
  const instances: TestApp[] = [];

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) instances.push(await startTestApp({ database, env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '20' } }));
  });

  afterAll(async () => {
    for (const instance of instances) await instance.close();
    await database?.drop();
    await smtp?.stop();
  });

  it('sends every one of 50 mails exactly once', async () => {
    const recipients = Array.from({ length: 50 }, (_, i) => `user${i}@crowd.example.com`);
    // Count what each instance hands to its (real) SMTP transport. Nest's Logger is process-wide,
    // so the captured logs cannot tell two in-process instances apart.
    const sent = instances.map((instance) => {
      const transport = instance.app.get<MailTransport>(MAIL_TRANSPORT);
      const send = transport.send.bind(transport);
      const counter = { calls: 0 };
      transport.send = (mail) => {
        counter.calls++;
        return send(mail);
      };
      return counter;
    });
    await enqueue(instances[0], recipients.map((to) => confirm(to)));

    await waitUntil(async () => recipients.every((to) => smtp.mailsTo(to).length > 0), 'all 50 mails');
    await sleep(300); // room for a duplicate to show up
    expect(recipients.filter((to) => smtp.mailsTo(to).length !== 1)).toEqual([]);
    expect(smtp.mails).toHaveLength(50);

    const rows = await outboxRows(instances[1], '%@crowd.example.com');
    expect(rows).toHaveLength(50);
    expect(rows.filter((row) => row.status !== 'sent' || row.attempts !== 1)).toEqual([]);

    // Both workers took part (a batch takes far longer than the 20 ms poll), and together they
    // handed each mail to SMTP once.
    expect(Math.min(...sent.map((counter) => counter.calls))).toBeGreaterThan(0);
    expect(sent[0].calls + sent[1].calls).toBe(50);
  });
});

describe('mail outbox across a shutdown', () => {
  it('finishes the sends in flight on close, starts no other, and leaves the rest for the next instance', async () => {
    const smtp = await new TestSmtpServer().start();
    // A slow server: a whole batch would take several rounds of sends.
    smtp.acceptDelayMs = 300;
    const database = await createTestDatabase();
    try {
      const first = await startTestApp({ database, env: { SMTP_URL: smtp.url } });
      const recipients = Array.from({ length: 60 }, (_, i) => `late${i}@example.com`);
      await enqueue(first, recipients.map((to) => confirm(to)));
      await smtp.waitFor(() => true);
      await first.close();
      smtp.acceptDelayMs = 0;

      // Read the outbox as the first instance left it, before another worker touches it.
      const rows = await database.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM mail_outbox GROUP BY status');
      const sent = rows.find((row) => row.status === 'sent')?.n ?? 0;
      const pending = rows.find((row) => row.status === 'pending')?.n ?? 0;
      // Every mail that arrived is marked sent (the sends in flight were finished and committed);
      // the batch's others were not started, but given back.
      expect(sent).toBe(smtp.mails.length);
      expect(sent).toBeLessThan(OUTBOX_BATCH_SIZE);
      expect(sent + pending).toBe(60);

      const second = await startTestApp({ database, env: { SMTP_URL: smtp.url } });
      try {
        await waitUntil(async () => recipients.every((to) => smtp.mailsTo(to).length > 0), 'all 60 mails');
        await sleep(200);
        expect(recipients.filter((to) => smtp.mailsTo(to).length !== 1)).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
      await smtp.stop();
    }
  });
});

describe('mail outbox while the database is unreachable', () => {
  let smtp: TestSmtpServer;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    service = await startTestApp({ database, databaseUrl: proxy.wrap(database.url), env: { SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    proxy?.restore();
    await service?.close();
    await proxy?.stop();
    await database?.drop();
    await smtp?.stop();
  });

  it('logs an outage of the database once, without a stack trace, keeps polling, and delivers when the database is back', async () => {
    const tickErrors = () => service.logs.entries().filter((entry) => entry.context === 'OutboxWorker' && /paused: the database cannot be reached/.test(entry.msg));
    proxy.cut();
    try {
      await waitUntil(async () => tickErrors().length > 0, 'a failed tick to be logged');
      await sleep(300); // several more failing ticks
      expect(tickErrors()).toEqual([expect.objectContaining({ level: 40, msg: expect.stringMatching(/^outbox paused: the database cannot be reached/) })]);
      expect(tickErrors()[0].err).toBeUndefined();
    } finally {
      proxy.restore();
    }

    await waitUntil(
      async () => service.logs.entries().some((entry) => entry.context === 'OutboxWorker' && /recovered after \d+ failed tick/.test(entry.msg)),
      'the worker to recover',
    );
    await enqueue(service, [confirm('back@example.com')]);
    await smtp.waitFor((received) => received.to.includes('back@example.com'));
  });

  it('stops sending when the database is cut, and sends each of the batch exactly once when it is back', async () => {
    // A slow server: the batch of 20 takes a while, so the cut falls in its middle.
    smtp.acceptDelayMs = 100;
    const recipients = Array.from({ length: OUTBOX_BATCH_SIZE }, (_, i) => `batch${i}@cut.example.com`);
    await enqueue(service, recipients.map((to) => confirm(to)));

    const arrived = () => smtp.mails.filter((mail) => mail.to.some((to) => to.endsWith('@cut.example.com'))).length;
    await waitUntil(async () => arrived() >= 5, 'the first mails of the batch');
    proxy.cut();
    const atCut = arrived();
    try {
      await sleep(1_500); // the sends in flight end, and many polls find the database gone
      // Only the mails already handed to SMTP arrive; no new one is sent for a batch the service cannot record.
      expect(arrived() - atCut).toBeLessThanOrEqual(OUTBOX_SEND_CONCURRENCY);
      expect(arrived()).toBeLessThan(OUTBOX_BATCH_SIZE);
    } finally {
      proxy.restore();
    }

    await waitUntil(async () => recipients.every((to) => smtp.mailsTo(to).length > 0), 'every mail of the batch', 30_000);
    await sleep(500); // room for a second copy to show up
    expect(recipients.filter((to) => smtp.mailsTo(to).length !== 1)).toEqual([]);
    expect(arrived()).toBe(OUTBOX_BATCH_SIZE);
    const rows = await outboxRows(service, '%@cut.example.com');
    expect(rows.map((row) => [row.status, row.attempts])).toEqual(recipients.map(() => ['sent', 1]));
  });
});

describe('mail outbox with notices queued ahead of account mail', () => {
  it('sends a confirmation link someone waits for ahead of the notices queued before it, and the notices after it', async () => {
    const smtp = await new TestSmtpServer().start();
    // A slow server: the notices take several batches, and the confirmation is queued behind most of them.
    smtp.acceptDelayMs = 100;
    const service = await startTestApp({ env: { SMTP_URL: smtp.url } });
    try {
      const owners = Array.from({ length: 4 * OUTBOX_BATCH_SIZE }, (_, i) => `owner${i}@notices.example.com`);
      await enqueue(service, owners.map((to, i) => (i % 2 === 0 ? keyCreated(to) : keyLeaked(to))));
      await smtp.waitFor(() => true); // the first batch of notices is being sent

      const response = await service.request('POST', '/auth/register', { body: { email: 'waiting@example.com', password: 'correct horse battery' } });
      expect(response.status).toBe(201);
      await waitUntil(async () => (await outboxRows(service, 'waiting@example.com')).length > 0, 'the confirmation in the outbox');
      // Read once the mail is queued, so at least as many as had arrived when it was.
      const arrivedWhenQueued = smtp.mails.length;
      // Otherwise the test shows nothing: most notices must still be waiting.
      expect(arrivedWhenQueued).toBeLessThan(owners.length - OUTBOX_BATCH_SIZE - OUTBOX_SEND_CONCURRENCY);

      const confirmation = await smtp.waitFor((received) => received.to.includes('waiting@example.com'), 30_000);
      expect(confirmation.subject).toBe('Confirm your email for Atiru');
      // Ahead of it only the notices already claimed when it was queued (a batch), and those sent
      // beside it in the next batch: not every notice queued before it.
      expect(smtp.mails.indexOf(confirmation)).toBeLessThanOrEqual(arrivedWhenQueued + OUTBOX_BATCH_SIZE + OUTBOX_SEND_CONCURRENCY - 1);

      // The notices are not held back for good: each goes out, once, after it.
      await waitUntil(async () => owners.every((to) => smtp.mailsTo(to).length > 0), 'every notice', 30_000);
      await sleep(200); // room for a duplicate to show up
      expect(owners.filter((to) => smtp.mailsTo(to).length !== 1)).toEqual([]);
      expect(smtp.mails).toHaveLength(owners.length + 1);
      expect((await outboxRows(service, '%@notices.example.com')).filter((row) => row.status !== 'sent')).toEqual([]);
    } finally {
      await service.close();
      await smtp.stop();
    }
  }, 60_000);
});

describe('mail outbox with a flood of account mail queued around a notice', () => {
  it('sends the notice with the first batch claimed after it, not after the sign-ups queued before or after it, and every mail once', async () => {
    const smtp = await new TestSmtpServer().start();
    const service = await startTestApp({ env: { SMTP_URL: smtp.url } });
    try {
      // A flood of sign-ups is under way: the worker holds a batch of them, its sends held at the gate.
      const gate = gateSends(service);
      const flood = Array.from({ length: 11 * OUTBOX_BATCH_SIZE }, (_, i) => `signup${i}@flood.example.com`);
      await enqueue(service, flood.slice(0, OUTBOX_BATCH_SIZE).map((to) => confirm(to)));
      await waitUntil(async () => gate.entered === OUTBOX_SEND_CONCURRENCY, 'the first batch to be sending');
      // Five batches of sign-ups wait; the account's password is changed, by its thief perhaps; five
      // more follow, a request each. First come, first served would send the notice 121st.
      const owner = 'owner@flood.example.com';
      for (const to of flood.slice(OUTBOX_BATCH_SIZE, 6 * OUTBOX_BATCH_SIZE)) await enqueue(service, [confirm(to)]);
      await enqueue(service, [passwordChanged(owner)]);
      for (const to of flood.slice(6 * OUTBOX_BATCH_SIZE)) await enqueue(service, [confirm(to)]);
      // Otherwise the test shows nothing: no claim has seen the notice before the flood behind it.
      expect(await sql(service, `SELECT attempts, next_attempt_at <= clock_timestamp() AS due FROM mail_outbox WHERE recipient = ?`, [owner])).toEqual([{ attempts: 0, due: true }]);

      gate.open();
      const notice = await smtp.waitFor((received) => received.to.includes(owner), 30_000);
      expect(notice.subject).toBe('Your Atiru password was changed');
      // Ahead of it only the batch that was being sent, and the sign-ups claimed beside it.
      expect(smtp.mails.indexOf(notice)).toBeLessThan(2 * OUTBOX_BATCH_SIZE);

      // The flood is not held back for it either: every mail goes out, once.
      const everyone = [...flood, owner];
      await waitUntil(async () => everyone.every((to) => smtp.mailsTo(to).length > 0), 'every mail', 30_000);
      await sleep(200); // room for a duplicate to show up
      expect(everyone.filter((to) => smtp.mailsTo(to).length !== 1)).toEqual([]);
      expect(smtp.mails).toHaveLength(everyone.length);
      expect((await outboxRows(service, '%@flood.example.com')).filter((row) => row.status !== 'sent' || row.attempts !== 1)).toEqual([]);
    } finally {
      await service.close();
      await smtp.stop();
    }
  }, 60_000);
});

describe('mail outbox with a mail server so slow that each batch ends before its last sends', () => {
  it('still sends notices: a notice queued ahead of 100 sign-ups goes out among the first mails, not after them', async () => {
    const smtp = await new TestSmtpServer().start();
    const service = await startTestApp({ env: { SMTP_URL: smtp.url } });
    const realNow = Date.now;
    let late = 0;
    try {
      // Each send takes 16 s of the worker's clock: past half the lease, after about ten sends, the
      // worker hands the rest of its batch back untried, and claims again.
      const transport = service.app.get<MailTransport>(MAIL_TRANSPORT);
      const send = transport.send.bind(transport);
      transport.send = async (mail) => {
        late += 16_000;
        return send(mail);
      };
      Date.now = () => realNow() + late;
      const owner = 'owner@slow.example.com';
      await enqueue(service, [passwordChanged(owner), ...Array.from({ length: 100 }, (_, i) => confirm(`signup${i}@slow.example.com`))]);

      // Waited for on performance.now(): waitUntil reads the clock this test moves on.
      const started = performance.now();
      while (smtp.mailsTo(owner).length === 0 && smtp.mails.length <= 100 && performance.now() - started < 45_000) await sleep(25);
      expect(smtp.mails.findIndex((mail) => mail.to.includes(owner))).toBeLessThan(OUTBOX_SEND_CONCURRENCY);
    } finally {
      Date.now = realNow;
      await service.close();
      await smtp.stop();
    }
  }, 60_000);
});

describe('mail outbox lanes, claimed without a worker', () => {
  let service: TestApp;
  const repository = () => service.app.get(MailOutboxRepository);
  const em = () => service.app.get(EntityManager).fork();
  /** Claims up to `limit` and answers the recipients' names (the part before the @), in the order answered. */
  const claim = async (limit: number, on = em()) => (await repository().claimDueBatch(on, limit, 60_000)).map((mail) => mail.recipient.split('@')[0]);
  /** Each in a transaction of its own, so each takes a later place in its lane. */
  const queue = async (...messages: MailMessage[]) => {
    for (const message of messages) await enqueue(service, [message]);
  };
  const at = (name: string) => `${name}@lanes.example.com`;

  beforeAll(async () => {
    service = await startWithoutWorker();
  });

  beforeEach(async () => {
    await sql(service, 'DELETE FROM mail_outbox');
  });

  afterAll(async () => {
    await service?.close();
  });

  it('takes half a claim from each lane, rounded up for mail someone waits for, each lane first queued first, and answers them in turns, that mail first', async () => {
    await queue(passwordChanged(at('n0')), confirm(at('a0')), keyLeaked(at('n1')), reset(at('a1')), passwordChanged(at('n2')), confirm(at('a2')), keyLeaked(at('n3')), confirm(at('a3')));

    expect(await claim(5)).toEqual(['a0', 'n0', 'a1', 'n1', 'a2']);
    expect(await claim(2)).toEqual(['a3', 'n2']);
    expect(await claim(OUTBOX_BATCH_SIZE)).toEqual(['n3']);
    expect(await claim(OUTBOX_BATCH_SIZE)).toEqual([]);
  });

  it("places API keys' creation and roll notices an hour behind the other notices: a flood of them holds back no password-changed or leaked-key notice", async () => {
    const flood = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? keyCreated(at(`key${i}`)) : keyRolled(at(`key${i}`))));
    await queue(...flood, passwordChanged(at('changed')), keyLeaked(at('leaked')));
    expect(await claim(4)).toEqual(['changed', 'leaked', 'key0', 'key1']);
    // Among themselves, first queued first.
    expect(await claim(3)).toEqual(['key2', 'key3', 'key4']);
  });

  it('lets other notices overtake them by an hour at most, and holds none back from an idle lane', async () => {
    await queue(keyCreated(at('alone')));
    expect(await claim(OUTBOX_BATCH_SIZE)).toEqual(['alone']);

    await queue(keyRolled(at('an-hour-ago')), keyCreated(at('just-now')));
    // Queued an hour and a minute ago: its place has come before the notice queued now.
    await sql(service, `UPDATE mail_outbox SET queue_position = queue_position - interval '61 minutes' WHERE recipient = ?`, [at('an-hour-ago')]);
    await queue(passwordChanged(at('changed')));
    expect(await claim(OUTBOX_BATCH_SIZE)).toEqual(['an-hour-ago', 'changed', 'just-now']);
  });

  it('fills the share of a lane that runs short from the other, either way round', async () => {
    await queue(keyCreated(at('n0')), ...['a0', 'a1', 'a2', 'a3', 'a4'].map((name) => confirm(at(name))));
    expect(await claim(4)).toEqual(['a0', 'n0', 'a1', 'a2']);

    await sql(service, 'DELETE FROM mail_outbox');
    await queue(confirm(at('a0')), ...['n0', 'n1', 'n2', 'n3', 'n4'].map((name) => passwordChanged(at(name))));
    expect(await claim(4)).toEqual(['a0', 'n0', 'n1', 'n2']);
  });

  it('locks only the mails it takes: a claim beside one not yet committed takes the next of each lane', async () => {
    await queue(...['0', '1', '2', '3', '4', '5'].flatMap((i) => [keyCreated(at(`n${i}`)), confirm(at(`a${i}`))]));

    const [first, beside] = await inTransaction(service.app.get(EntityManager), async (open) => [await claim(4, open), await claim(4)]);
    expect(first).toEqual(['a0', 'n0', 'a1', 'n1']);
    expect(beside).toEqual(['a2', 'n2', 'a3', 'n3']);
  });

  it('claims the mails an instance of the release before inserts during a rolling deploy, in the awaited lane as that release ordered them', async () => {
    // As that release inserted: no lane (the column's default), and a notice placed ten minutes on.
    const before = (name: string, template: string, behind: string) =>
      sql(service, `INSERT INTO mail_outbox (recipient, template, payload, queue_position) VALUES (?, ?, '{"subject": "s", "text": "t"}', now() + ?::interval)`, [at(name), template, behind]);
    await before('old-notice', 'api-key-created', '10 minutes');
    await before('old-confirm', 'confirm-email', '0');
    await queue(keyLeaked(at('new-notice')), confirm(at('new-confirm')));

    expect(await claim(2)).toEqual(['old-confirm', 'new-notice']);
    expect(await claim(OUTBOX_BATCH_SIZE)).toEqual(['new-confirm', 'old-notice']);
    expect(await claim(OUTBOX_BATCH_SIZE)).toEqual([]);
  });
});

describe('mail after a request, with a long poll interval', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '60000' } });
    await sleep(300); // the workers' first ticks, at start, are over: from now on only a wake-up or the minute's poll runs one
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  // Without the wake-up, these mails would wait for the next poll, a minute after the start.
  it('leaves seconds after the request, not a poll interval: the commits wake the workers', async () => {
    const response = await service.request('POST', '/auth/register', { body: { email: 'prompt@example.com', password: 'correct horse battery' } });
    expect(response.status).toBe(201);
    const answered = Date.now();
    const mail = await smtp.waitFor((received) => received.to.includes('prompt@example.com'), 10_000);
    expect(mail.subject).toBe('Confirm your email for Atiru');
    expect(Date.now() - answered).toBeLessThan(5_000);

    expect((await service.request('POST', '/auth/resend-confirmation', { body: { email: 'prompt@example.com' } })).status).toBe(200);
    const resent = Date.now();
    await waitUntil(async () => smtp.mailsTo('prompt@example.com').length === 2, 'the resent confirmation', 10_000);
    expect(Date.now() - resent).toBeLessThan(5_000);
  });
});

describe('mail without SMTP_URL', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp();
  });

  afterAll(async () => {
    await service?.close();
  });

  it('logs each mail with its subject, recipient and links so a person can click through', async () => {
    await enqueue(service, [
      {
        template: 'already-registered',
        to: 'known@example.com',
        login_link: 'http://dashboard.test/login',
        reset_link: 'http://dashboard.test/forgot-password',
      },
    ]);
    const logged = await waitUntil(
      async () => service.logs.entries().find((entry) => entry.context === 'LoggingMailTransport' && entry.to === 'known@example.com'),
      'the logged mail',
    );
    expect(logged).toMatchObject({
      level: 30,
      subject: 'Someone tried to sign up with your email',
      links: ['http://dashboard.test/login', 'http://dashboard.test/forgot-password'],
    });
    expect(logged.msg).toContain('http://dashboard.test/login');
    await waitForRow(service, 'known@example.com', (found) => found.status === 'sent', 'the row to be marked sent');
  });
});
