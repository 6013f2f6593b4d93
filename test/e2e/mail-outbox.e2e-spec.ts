import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { MailMessage } from '../../src/mail/mail-message';
import { MailService } from '../../src/mail/mail.service';
import { OUTBOX_BATCH_SIZE } from '../../src/mail/outbox-worker';
import { MAIL_TRANSPORT, MailTransport } from '../../src/mail/mail-transport';
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
  attempts: number;
  last_error: string | null;
  sent_at: string | null;
}

/** Enqueues through the real MailService inside a real transaction, committed or rolled back. */
async function enqueue(service: TestApp, messages: MailMessage[], outcome: 'commit' | 'rollback' = 'commit'): Promise<void> {
  const mail = service.app.get(MailService);
  const work = service.app
    .get(EntityManager)
    .fork()
    .transactional(async (em) => {
      for (const message of messages) await mail.enqueue(em, message);
      if (outcome === 'rollback') throw new Error('the change that caused the mail failed');
    });
  if (outcome === 'rollback') await expect(work).rejects.toThrow('the change that caused the mail failed');
  else await work;
}

async function outboxRows(service: TestApp, recipientLike = '%'): Promise<OutboxRow[]> {
  return service.app
    .get(EntityManager)
    .fork()
    .getConnection()
    .execute<OutboxRow[]>('SELECT id, recipient, template, status, attempts, last_error, sent_at FROM mail_outbox WHERE recipient LIKE ? ORDER BY id', [recipientLike]);
}

/** Waits until the (single) outbox row for `recipient` satisfies `done`, and answers it. */
async function waitForRow(service: TestApp, recipient: string, done: (row: OutboxRow) => boolean, what: string): Promise<OutboxRow> {
  return waitUntil(async () => {
    const [row] = await outboxRows(service, recipient);
    return row && done(row) && row;
  }, what);
}

const confirm = (to: string, token = 'tok-' + to): MailMessage => ({ template: 'confirm-email', to, link: `http://127.0.0.1:3000/auth/confirm?token=${token}` });

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
    const [stored] = await service.app.get(EntityManager).fork().getConnection()
      .execute<{ payload: unknown }[]>('SELECT payload FROM mail_outbox WHERE recipient = ?', ['ada@example.com']);
    expect(stored.payload).toEqual({ subject: 'Confirm your email for Atiru' });

    await sleep(300); // several poll intervals
    expect(await outboxRows(service, 'ghost@example.com')).toEqual([]);
    expect(smtp.mailsTo('ghost@example.com')).toEqual([]);
    expect(smtp.mailsTo('ada@example.com')).toHaveLength(1);
  });

  it('retries while the SMTP server is down and delivers once it is back on the same port', async () => {
    const port = smtp.port;
    await smtp.stop();
    let retrying: OutboxRow;
    try {
      await enqueue(service, [{ template: 'password-reset', to: 'grace@example.com', link: 'http://127.0.0.1:3000/reset?token=grace-token' }]);
      retrying = await waitForRow(service, 'grace@example.com', (found) => found.attempts >= 2, 'two failed attempts');
      expect(retrying).toMatchObject({ status: 'pending', last_error: expect.stringMatching(/ECONNREFUSED/) });
      expect(retrying.last_error).not.toContain('grace-token');
      const retryWarnings = service.logs.entries().filter((entry) => entry.level === 40 && /grace@example\.com: attempt \d+ failed, retrying/.test(entry.msg));
      expect(retryWarnings.length).toBeGreaterThanOrEqual(2);
      expect(smtp.mailsTo('grace@example.com')).toEqual([]);
    } finally {
      await smtp.start(port);
    }

    const mail = await smtp.waitFor((received) => received.to.includes('grace@example.com'));
    expect(mail.subject).toBe('Reset your Atiru password');
    expect(mail.links).toEqual(['http://127.0.0.1:3000/reset?token=grace-token']);
    const sent = await waitForRow(service, 'grace@example.com', (found) => found.status === 'sent', 'the row to be marked sent');
    expect(sent.attempts).toBeGreaterThan(retrying.attempts);
    await sleep(200);
    expect(smtp.mailsTo('grace@example.com')).toHaveLength(1);
  });
});

describe('mail outbox when delivery keeps failing', () => {
  let service: TestApp;

  beforeAll(async () => {
    const gone = await new TestSmtpServer().start();
    await gone.stop(); // nothing listens on this port any more
    service = await startTestApp({ env: { SMTP_URL: gone.url, MAIL_MAX_ATTEMPTS: '3', MAIL_RETRY_BASE_MS: '50' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('marks the mail failed after MAIL_MAX_ATTEMPTS and logs an error without the link', async () => {
    await enqueue(service, [confirm('lost@example.com', 'lost-secret-token')]);
    const row = await waitForRow(service, 'lost@example.com', (found) => found.status === 'failed', 'the mail to be marked failed');
    expect(row).toMatchObject({ status: 'failed', attempts: 3, sent_at: null, last_error: expect.stringMatching(/ECONNREFUSED/) });

    const errors = service.logs.entries().filter((entry) => entry.level === 50 && entry.context === 'OutboxWorker');
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toMatch(/^mail \d+ \(confirm-email\) to lost@example\.com failed for good after 3 attempt\(s\): .*ECONNREFUSED/);
    expect(service.logs.text).not.toContain('lost-secret-token');

    await sleep(300); // a failed mail is left alone
    expect((await outboxRows(service, 'lost@example.com'))[0].attempts).toBe(3);
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
  it('finishes the batch in flight on close and leaves the rest for the next instance', async () => {
    const smtp = await new TestSmtpServer().start();
    const database = await createTestDatabase();
    try {
      const first = await startTestApp({ database, env: { SMTP_URL: smtp.url } });
      const recipients = Array.from({ length: 60 }, (_, i) => `late${i}@example.com`);
      await enqueue(first, recipients.map((to) => confirm(to)));
      await smtp.waitFor(() => true);
      await first.close();

      // Read the outbox as the first instance left it, before another worker touches it.
      const client = new Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM mail_outbox GROUP BY status');
      await client.end();
      const sent = rows.find((row) => row.status === 'sent')?.n ?? 0;
      const pending = rows.find((row) => row.status === 'pending')?.n ?? 0;
      // Every mail that arrived is marked sent (the batch in flight was finished and committed), in whole batches.
      expect(sent).toBe(smtp.mails.length);
      expect(sent % OUTBOX_BATCH_SIZE).toBe(0);
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

  it('logs the failed ticks once, as one line without a stack, keeps polling, and delivers when the database is back', async () => {
    const tickErrors = () =>
      service.logs.entries().filter((entry) => entry.context === 'OutboxWorker' && (/outbox tick failed,/.test(entry.msg) || /outbox paused: the database cannot be reached/.test(entry.msg)));
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
