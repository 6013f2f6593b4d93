import { GENEROUS_RATE_LIMITS, sql, uniqueEmail } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait';

/**
 * A statement that fails is logged as the bug it is, but never with the values bound to it: the
 * emails, password hashes and links a failed insert carried stay out of the log.
 */
describe('failed statements in the log (real app, real PostgreSQL)', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: GENEROUS_RATE_LIMITS });
  });

  afterAll(async () => {
    await service?.close();
  });

  /** Makes every insert into `table` fail, with PostgreSQL quoting the whole row in the error's detail. */
  async function refuseInserts(table: string): Promise<() => Promise<unknown>> {
    await sql(service, `ALTER TABLE ${table} ADD CONSTRAINT refuse_every_row CHECK (false) NOT VALID`);
    return () => sql(service, `ALTER TABLE ${table} DROP CONSTRAINT refuse_every_row`);
  }

  const failuresNaming = (table: string, from: number) =>
    service.logs
      .entries()
      .slice(from)
      .filter((entry) => entry.level >= 50 && String(entry.err?.message ?? '').includes(table));

  it('a request whose insert fails: answered 500, logged with the shape and reason of the statement, no value', async () => {
    const from = service.logs.lines.length;
    const email = uniqueEmail('failed-insert');
    const redirect = 'https://app.atiru.test/welcome-failed-insert';
    const allow = await refuseInserts('registrations');
    try {
      const response = await service.request('POST', '/auth/register', { body: { email, password: 'correct horse battery', redirect_to: redirect } });
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 500, code: 'INTERNAL_ERROR' });
    } finally {
      await allow();
    }
    const [failure] = failuresNaming('registrations', from);
    // The failure is there, whole enough to debug: the statement's shape, the table, the constraint.
    expect(failure.err).toMatchObject({ table: 'registrations', constraint: 'refuse_every_row', code: '23514' });
    expect(failure.err.message).toMatch(/^insert into registrations \(id, email, password_hash, redirect_to, created_at, expires_at\) values \('…', '…', '…', '…', '…', '…'\) - new row for relation "registrations" violates check constraint "refuse_every_row"$/i);
    const logged = service.logs.lines.slice(from).join('\n');
    expect(logged).not.toContain(email);
    expect(logged).not.toContain(redirect);
    expect(logged).not.toContain('$argon2');
  });

  it('a background insert that fails (the confirmation mail into the outbox): logged without the recipient or the link', async () => {
    const from = service.logs.lines.length;
    const email = uniqueEmail('failed-mail');
    const allow = await refuseInserts('mail_outbox');
    try {
      expect((await service.request('POST', '/auth/register', { body: { email, password: 'correct horse battery' } })).status).toBe(201);
      await waitUntil(async () => failuresNaming('mail_outbox', from).length > 0, 'the failed outbox insert in the log', 10_000);
    } finally {
      await allow();
    }
    const logged = service.logs.lines.slice(from).join('\n');
    expect(logged).toMatch(/insert into \\"mail_outbox\\"/i);
    expect(logged).not.toContain(email);
    expect(logged).not.toMatch(/token=|http:\/\/127\.0\.0\.1:3000\/auth\/confirm/);
    // Once the insert works again, the mail is written.
    await waitUntil(async () => (await sql(service, 'SELECT 1 FROM mail_outbox WHERE recipient = ?', [email])).length > 0, 'the mail in the outbox');
  });
});
