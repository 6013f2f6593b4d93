import { ACCOUNT_MESSAGES } from '../../src/accounts/accounts.service';
import { PasswordHasher } from '../../src/accounts/passwords/password.hasher';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, clickConfirmationLink, formOf, linkStartingWith, login, nextMailTo, pathOf, sql, uniqueEmail } from '../support/accounts';
import { sleep, waitUntil } from '../support/wait';
import { TestSmtpServer } from '../support/smtp';
import { startTestApp, TestApp } from '../support/test-app';
import { statusesOf } from '../support/rate-limits';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INVALID_CREDENTIALS = { statusCode: 401, request_id: expect.any(String), code: 'INVALID_CREDENTIALS', error: 'Invalid email or password' };
const EMAIL_NOT_VERIFIED = { statusCode: 403, request_id: expect.any(String), code: 'EMAIL_NOT_VERIFIED', error: 'Confirm your email address before logging in' };
const INVALID_REFRESH = { statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN', error: 'Invalid or expired refresh token' };
const INVALID_RESET = { statusCode: 400, request_id: expect.any(String), code: 'INVALID_REQUEST', error: ACCOUNT_MESSAGES.invalidReset };
const invalid = (error: unknown) => ({ statusCode: 400, request_id: expect.any(String), code: 'INVALID_REQUEST', error });
const LONG_REDIRECT = 'Invalid request: redirect_to is longer than 2048 characters once normalised';
/** A 400 of the validation pipe about one field: `error` names it, and `errors` lists it with the rule that failed. */
const invalidField = (error: string) => {
  const message = error.replace(/^Invalid request: /, '');
  return { ...invalid(error), errors: [{ field: message.split(/[ :]/)[0], code: expect.any(String), message }] };
};

function confirmLinkPrefix(service: TestApp): string {
  return `${service.config.http.publicUrl}/auth/confirm?token=`;
}

function tokenOf(link: string): string {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

/** A confirmed account stored as an earlier release stored it, with whatever address it took then. */
async function storeConfirmedUser(service: TestApp, email: string, password: string): Promise<void> {
  const hash = await service.app.get(PasswordHasher).hash(password);
  await sql(service, 'INSERT INTO users (id, email, password_hash, email_confirmed_at) VALUES (gen_random_uuid(), ?, ?, now())', [email, hash]);
}

describe('accounts (real app, real PostgreSQL, real SMTP server)', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  const refresh = (refresh_token: string) => service.request('POST', '/auth/refresh', { body: { refresh_token } });
  const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });

  it('walks the whole journey: register, confirm by mail, log in, refresh, log out in each scope, reset the password', async () => {
    const email = uniqueEmail('journey');
    const welcome = 'https://app.atiru.test/welcome';

    const registered = await service.request('POST', '/auth/register', { body: { email, password: PASSWORD, redirect_to: welcome } });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({ message: 'Check your email to confirm your account.', user: { id: expect.stringMatching(UUID), email } });

    const confirmation = await nextMailTo(smtp, email, 0);
    const confirmLink = linkStartingWith(confirmation, confirmLinkPrefix(service));
    expect(tokenOf(confirmLink)).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const early = await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect(early.status).toBe(403);
    expect(early.body).toEqual(EMAIL_NOT_VERIFIED);

    const confirmed = await clickConfirmationLink(service, confirmLink);
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(welcome);

    const first = await login(service, email, PASSWORD);
    expect(first.user).toEqual({ id: registered.body.user.id, email, created_at: expect.any(String), updated_at: expect.any(String) });
    const me = await service.request('GET', '/users/me', { headers: bearer(first.session.access_token) });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: registered.body.user.id, email, created_at: first.user.created_at, updated_at: first.user.updated_at, email_confirmed_at: expect.any(String) });

    const refreshed = await refresh(first.session.refresh_token);
    expect(refreshed.status).toBe(200);
    const [old] = await sql(service, `SELECT retired_at FROM refresh_tokens WHERE token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex')`, [first.session.refresh_token]);
    expect(old.retired_at).not.toBeNull();
    const a = refreshed.body.session;
    expect((await service.request('GET', '/users/me', { headers: bearer(a.access_token) })).status).toBe(200);

    // scope=local (the default): only this session.
    let b = (await login(service, email, PASSWORD)).session;
    const c = (await login(service, email, PASSWORD)).session;
    expect((await service.request('POST', '/auth/logout', { headers: bearer(a.access_token) })).status).toBe(204);
    expect((await refresh(a.refresh_token)).body).toEqual(INVALID_REFRESH);
    const bAfterLocal = await refresh(b.refresh_token);
    expect(bAfterLocal.status).toBe(200);
    b = bAfterLocal.body.session;

    // scope=others: every session but this one.
    const d = (await login(service, email, PASSWORD)).session;
    const others = await service.request('POST', '/auth/logout?scope=others', { headers: bearer(b.access_token) });
    expect(others.status).toBe(204);
    expect(others.text).toBe('');
    expect((await refresh(c.refresh_token)).body).toEqual(INVALID_REFRESH);
    expect((await refresh(d.refresh_token)).body).toEqual(INVALID_REFRESH);
    const bAfterOthers = await refresh(b.refresh_token);
    expect(bAfterOthers.status).toBe(200);
    b = bAfterOthers.body.session;

    // scope=global: all of them.
    const e = (await login(service, email, PASSWORD)).session;
    expect((await service.request('POST', '/auth/logout?scope=global', { headers: bearer(b.access_token) })).status).toBe(204);
    expect((await refresh(b.refresh_token)).body).toEqual(INVALID_REFRESH);
    expect((await refresh(e.refresh_token)).body).toEqual(INVALID_REFRESH);

    // Forgot, mail, reset: every session dies, the new password works, the old one does not.
    const f = (await login(service, email, PASSWORD)).session;
    const g = (await login(service, email, PASSWORD)).session;
    const mailsBefore = smtp.mailsTo(email).length;
    const forgot = await service.request('POST', '/auth/forgot-password', { body: { email, redirect_to: 'https://app.atiru.test/reset' } });
    expect(forgot.status).toBe(200);
    expect(forgot.body).toEqual({ message: ACCOUNT_MESSAGES.resetRequested });
    const resetMail = await nextMailTo(smtp, email, mailsBefore);
    const resetLink = linkStartingWith(resetMail, 'https://app.atiru.test/reset?token=');

    const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(resetLink), password: NEW_PASSWORD } });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ message: ACCOUNT_MESSAGES.passwordReset });
    expect((await refresh(f.refresh_token)).body).toEqual(INVALID_REFRESH);
    expect((await refresh(g.refresh_token)).body).toEqual(INVALID_REFRESH);

    const oldPassword = await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect(oldPassword.body).toEqual(INVALID_CREDENTIALS);
    const fresh = await login(service, email, NEW_PASSWORD);
    expect((await service.request('GET', '/users/me', { headers: bearer(fresh.session.access_token) })).status).toBe(200);

    const spent = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(resetLink), password: 'yet another one' } });
    expect(spent.status).toBe(400);
    expect(spent.body).toEqual(INVALID_RESET);
  });

  it('confirms nothing when the link is opened, as a mail scanner opens it: only the button on its page confirms', async () => {
    const email = uniqueEmail('scanner');
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
    const link = linkStartingWith(await nextMailTo(smtp, email, 0), confirmLinkPrefix(service));
    for (let attempt = 0; attempt < 3; attempt++) {
      const opened = await service.request('GET', pathOf(link));
      expect(opened.status).toBe(200);
      expect(opened.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(opened.text).toContain(`Confirm <strong>${email}</strong> as the address of your Atiru account.`);
      expect(formOf(opened.text)).toEqual({ action: 'confirm-link', fields: { token: tokenOf(link) } });
      expect(opened.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self' http:\/\/dashboard\.test; frame-ancestors 'none'; base-uri 'none'$/);
      expect(opened.headers.get('referrer-policy')).toBe('no-referrer');
      expect(opened.headers.get('cache-control')).toBe('no-store');
    }
    expect(await sql(service, 'SELECT id FROM users WHERE email = ?', [email])).toEqual([]);
    expect((await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } })).body).toEqual(EMAIL_NOT_VERIFIED);

    for (let attempt = 0; attempt < 2; attempt++) {
      const pressed = await clickConfirmationLink(service, link);
      expect({ status: pressed.status, location: pressed.headers.get('location') }).toEqual({ status: 303, location: 'http://dashboard.test/' });
    }
    const [user] = await sql(service, 'SELECT email_confirmed_at FROM users WHERE email = ?', [email]);
    expect(user.email_confirmed_at).not.toBeNull();
    const [token] = await sql(service, `SELECT count(*)::int AS tokens, count(used_at)::int AS used FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = ?`, [email]);
    expect(token).toEqual({ tokens: 1, used: 1 });
    await login(service, email, PASSWORD);
  });

  it('shows the page again for a link already used, and escapes what it shows', async () => {
    const email = uniqueEmail("o'brien&co");
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
    const link = linkStartingWith(await nextMailTo(smtp, email, 0), confirmLinkPrefix(service));
    expect((await clickConfirmationLink(service, link)).status).toBe(303);
    const again = await service.request('GET', pathOf(link));
    expect(again.status).toBe(200);
    expect(again.text).toContain(`Confirm <strong>${email.replace('&', '&#38;').replace("'", '&#39;')}</strong>`);
  });

  it('redirects a bad confirmation token to the dashboard with error and error_code', async () => {
    for (const token of ['A'.repeat(43), 'short', 'x'.repeat(300)]) {
      const response = await service.request('GET', `/auth/confirm?token=${token}`);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).toBe('http://dashboard.test/');
      expect(Object.fromEntries(location.searchParams)).toEqual({ error: ACCOUNT_MESSAGES.invalidConfirmation, error_code: 'INVALID_REQUEST' });
    }
  });

  it('redirects a confirmation link without a token to the dashboard with the error, never JSON', async () => {
    const response = await service.request('GET', '/auth/confirm');
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('http://dashboard.test/');
    expect(Object.fromEntries(location.searchParams)).toEqual({
      error: ACCOUNT_MESSAGES.invalidConfirmation,
      error_code: 'INVALID_REQUEST',
      request_id: response.headers.get('x-request-id'),
    });
  });

  it('lands a refused confirmation on the link\'s own words, never on the words of what was sent', async () => {
    const unexpected = Array.from({ length: 200 }, (_, i) => `field_${i}_${'x'.repeat(40)}=1`).join('&');
    const opened = await service.request('GET', `/auth/confirm?token=${'A'.repeat(43)}&${unexpected}`);
    const pressed = await service.request('POST', '/auth/confirm-link', { raw: `token=${'A'.repeat(43)}&${unexpected}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    for (const [response, status] of [[opened, 302], [pressed, 303]] as const) {
      expect(response.status).toBe(status);
      expect(Object.fromEntries(new URL(response.headers.get('location')!).searchParams)).toEqual({
        error: ACCOUNT_MESSAGES.invalidConfirmation,
        error_code: 'INVALID_REQUEST',
        request_id: response.headers.get('x-request-id'),
      });
    }
  });

  it('confirms an email with POST /auth/confirm, the operation a generated client calls, idempotently', async () => {
    const email = uniqueEmail('confirm-api');
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
    const token = tokenOf(linkStartingWith(await nextMailTo(smtp, email, 0), confirmLinkPrefix(service)));
    expect((await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } })).body).toEqual(EMAIL_NOT_VERIFIED);
    for (let attempt = 0; attempt < 2; attempt++) {
      const confirmed = await service.request('POST', '/auth/confirm', { body: { token } });
      expect({ status: confirmed.status, body: confirmed.body }).toEqual({ status: 200, body: { message: ACCOUNT_MESSAGES.emailConfirmed } });
    }
    await login(service, email, PASSWORD);

    const bad = await service.request('POST', '/auth/confirm', { body: { token: 'A'.repeat(43) } });
    expect({ status: bad.status, body: bad.body }).toEqual({ status: 400, body: invalid(`Invalid request: ${ACCOUNT_MESSAGES.invalidConfirmation}`) });
    const missing = await service.request('POST', '/auth/confirm', { body: {} });
    expect(missing.body).toEqual(invalidField('Invalid request: token should not be empty'));
  });

  it('does not accept a reset token as a confirmation token, nor the other way round', async () => {
    const pending = uniqueEmail('purpose-pending');
    const confirmed = uniqueEmail('purpose-confirmed');
    await service.request('POST', '/auth/register', { body: { email: pending, password: PASSWORD } });
    const confirmToken = tokenOf(linkStartingWith(await nextMailTo(smtp, pending, 0), confirmLinkPrefix(service)));
    await createConfirmedUser(service, confirmed, PASSWORD);
    await nextMailTo(smtp, confirmed, 0);
    await service.request('POST', '/auth/forgot-password', { body: { email: confirmed } });
    const resetToken = tokenOf(linkStartingWith(await nextMailTo(smtp, confirmed, 1), 'http://dashboard.test/?token='));

    const wrongReset = await service.request('POST', '/auth/reset-password', { body: { token: confirmToken, password: NEW_PASSWORD } });
    expect(wrongReset.body).toEqual(INVALID_RESET);
    const wrongConfirm = await service.request('GET', `/auth/confirm?token=${resetToken}`);
    expect(new URL(wrongConfirm.headers.get('location')!).searchParams.get('error_code')).toBe('INVALID_REQUEST');
    expect(await sql(service, 'SELECT id FROM users WHERE email = ?', [pending])).toEqual([]);
    expect((await service.request('POST', '/auth/login', { body: { email: pending, password: PASSWORD } })).body).toEqual(EMAIL_NOT_VERIFIED);
    await login(service, confirmed, PASSWORD);
  });

  describe('register', () => {
    it('stores the email trimmed and lower-cased', async () => {
      const email = uniqueEmail('case');
      const response = await service.request('POST', '/auth/register', { body: { email: `  ${email.toUpperCase()}\t`, password: PASSWORD } });
      expect(response.status).toBe(201);
      expect(response.body.user.email).toBe(email);
      const rows = await sql(service, 'SELECT id, email FROM registrations WHERE lower(email) = ?', [email]);
      expect(rows).toEqual([{ id: response.body.user.id, email }]);
    });

    it('stores an argon2id hash, never the password', async () => {
      const email = uniqueEmail('hash');
      await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
      const [row] = await sql<{ password_hash: string }>(service, 'SELECT password_hash FROM registrations WHERE email = ?', [email]);
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
    });

    it('keeps 20 concurrent registrations of one email apart, and confirming one leaves one user with none of their passwords', async () => {
      const email = uniqueEmail('race');
      const passwords = Array.from({ length: 20 }, (_, i) => `password number ${i}`);
      const answers = await Promise.all(
        passwords.map((password, i) => service.request('POST', '/auth/register', { body: { email: i % 2 ? email.toUpperCase() : email, password } })),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
      for (const answer of answers) expect(answer.body).toEqual({ message: ACCOUNT_MESSAGES.registered, user: { id: expect.stringMatching(UUID), email } });
      const ids = answers.map((answer) => answer.body.user.id as string);
      expect(new Set(ids).size).toBe(20);
      expect(await sql(service, 'SELECT id FROM users WHERE lower(email) = ?', [email])).toEqual([]);

      await smtp.waitFor(() => smtp.mailsTo(email).length === 20);
      const links = smtp.mailsTo(email).map((mail) => linkStartingWith(mail, confirmLinkPrefix(service)));
      const [{ registration_id: chosen }] = await sql(
        service,
        `SELECT registration_id FROM one_time_tokens WHERE token_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex')`,
        [tokenOf(links[7])],
      );
      // Registered 20 times: the click proves the mailbox, not which password is its owner's (decision 017).
      expect((await clickConfirmationLink(service, links[7])).headers.get('location')).toBe('http://dashboard.test/?choose_password=1');
      const users = await sql(service, 'SELECT id FROM users WHERE lower(email) = ?', [email]);
      expect(users).toEqual([{ id: expect.stringMatching(UUID) }]);
      expect(ids).not.toContain(users[0].id);
      const others = await Promise.all(links.filter((_, i) => i !== 7).map((link) => service.request('GET', pathOf(link))));
      for (const other of others) expect(new URL(other.headers.get('location')!).searchParams.get('error_code')).toBe('INVALID_REQUEST');

      const chosenPassword = passwords[ids.indexOf(chosen)];
      for (const password of [chosenPassword, ...passwords.filter((password) => password !== chosenPassword).slice(0, 3)]) {
        expect((await service.request('POST', '/auth/login', { body: { email, password } })).body).toEqual(INVALID_CREDENTIALS);
      }
      const choose = await nextMailTo(smtp, email, 20);
      expect(choose.subject).toBe('Choose your Atiru password');
      const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(linkStartingWith(choose, 'http://dashboard.test/?token=')), password: NEW_PASSWORD } });
      expect(reset.status).toBe(200);
      expect((await login(service, email, NEW_PASSWORD)).user.id).toBe(users[0].id);
    });

    it.each([
      ['an invalid email', { email: 'not-an-email', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['a missing email', { password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['an email over 320 characters', { email: `${'a'.repeat(64)}@${'b'.repeat(250)}.com`, password: PASSWORD }, 'Invalid request: email must be an email address'],
      // Addresses no provider issues, which mail software reads otherwise, or one mailbox under two forms.
      ['an email with a quoted local part', { email: '"a@b"@example.com', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['an email with a line break in a quoted local part', { email: '"a\r\nrcpt"@example.com', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['an email with a line separator', { email: 'a\u2028b@example.com', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['an email with a right-to-left override', { email: 'moc.elpmaxe\u202e@example.com', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['an email with a zero-width space', { email: 'ada\u200b@example.com', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['an email in fullwidth letters', { email: '\uff41\uff44\uff41@example.com', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['a password with half of a surrogate pair', { email: 'surrogate@example.com', password: '\ud800abcdef' }, 'Invalid request: password must be text: it holds half of a UTF-16 surrogate pair'],
      ['a short password', { email: 'short@example.com', password: '12345' }, 'Invalid request: password must be longer than or equal to 6 characters'],
      ['a password over 256 characters', { email: 'long@example.com', password: 'x'.repeat(257) }, 'Invalid request: password must be shorter than or equal to 256 characters'],
      ['a password that is not a string', { email: 'type@example.com', password: 123456 }, 'Invalid request: password must be a string'],
      ['a redirect_to outside the allow-list', { email: 'r1@example.com', password: PASSWORD, redirect_to: 'https://evil.example/welcome' }, 'Invalid request: redirect_to is not an allowed redirect URL'],
      ['a redirect_to two labels under a pattern', { email: 'r2@example.com', password: PASSWORD, redirect_to: 'https://a.b.atiru.test/' }, 'Invalid request: redirect_to is not an allowed redirect URL'],
      ['a relative redirect_to', { email: 'r3@example.com', password: PASSWORD, redirect_to: '/welcome' }, 'Invalid request: redirect_to is not an allowed redirect URL'],
      ['a redirect_to that percent-encoding makes longer than its column', { email: 'r4@example.com', password: PASSWORD, redirect_to: `https://app.atiru.test/${'é'.repeat(700)}` }, LONG_REDIRECT],
      ['an unknown field', { email: 'extra@example.com', password: PASSWORD, admin: true }, 'Invalid request: admin: property admin should not exist'],
    ])('answers %s with 400 INVALID_REQUEST', async (_why, body, error) => {
      const response = await service.request('POST', '/auth/register', { body });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(error.includes('redirect_to is') ? invalid(error) : invalidField(error));
    });

    it('accepts exactly 6 and exactly 256 characters', async () => {
      for (const password of ['123456', 'p'.repeat(256)]) {
        const response = await service.request('POST', '/auth/register', { body: { email: uniqueEmail('bounds'), password } });
        expect(response.status).toBe(201);
      }
    });

    it('takes a new address composed, and the joiners Persian and Indic words need', async () => {
      const decomposed = `jose\u0301-${Date.now().toString(36)}@exemple.fr`;
      const registered = await service.request('POST', '/auth/register', { body: { email: decomposed, password: PASSWORD } });
      expect([registered.status, registered.body.user.email]).toEqual([201, decomposed.normalize('NFC')]);
      const persian = `\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645-${Date.now().toString(36)}@example.ir`;
      expect((await service.request('POST', '/auth/register', { body: { email: persian, password: PASSWORD } })).status).toBe(201);
    });

    it('takes an internationalised domain and its punycode as one mailbox: one account, found in either form', async () => {
      const local = `idn-${Date.now().toString(36)}`;
      const unicode = `${local}@bücher.example`;
      const punycode = `${local}@xn--bcher-kva.example`;
      const registered = await service.request('POST', '/auth/register', { body: { email: punycode, password: PASSWORD } });
      expect([registered.status, registered.body.user.email]).toEqual([201, unicode]);
      await clickConfirmationLink(service, linkStartingWith(await nextMailTo(smtp, unicode, 0), confirmLinkPrefix(service)));

      // A sign-up in the other form is one for the same mailbox: the account's notice, not a second account.
      await service.request('POST', '/auth/register', { body: { email: unicode.toUpperCase(), password: 'another password' } });
      expect((await nextMailTo(smtp, unicode, 1)).subject).toBe('Someone tried to sign up with your email');
      expect(await sql(service, 'SELECT email FROM users WHERE email LIKE ?', [`${local}@%`])).toEqual([{ email: unicode }]);
      for (const email of [unicode, punycode, unicode.toUpperCase()]) {
        expect([email, (await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } })).status]).toEqual([email, 200]);
      }
    });

    it('still signs in, and mails a reset to, an account whose address a stricter check would refuse now (stored by an earlier release)', async () => {
      for (const email of ['"john smith"@example.com', `jose\u0301-old@exemple.fr`, '\uff42\uff4f\uff42@example.com']) {
        await storeConfirmedUser(service, email, PASSWORD);
        expect([email, (await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } })).status]).toEqual([email, 200]);
        expect((await service.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
        // Read in the outbox: the test server's parser rewrites a quoted local part.
        const queued = async () => (await sql(service, `SELECT 1 FROM mail_outbox WHERE recipient = ? AND template = 'password-reset'`, [email])).length > 0;
        await waitUntil(queued, `a reset mail to ${email}`);
      }
    });

    it('answers malformed JSON with 400 and a non-JSON body with 415', async () => {
      const malformed = await service.request('POST', '/auth/register', { raw: '{"email":', headers: { 'content-type': 'application/json' } });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual(invalid(expect.stringMatching(/not valid JSON/)));
      const form = await service.request('POST', '/auth/register', { raw: 'email=a@b.co', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).toBe(415);
      // The wording of framework errors belongs to the foundation's filter; status and code are the contract.
      expect(form.body).toEqual({ statusCode: 415, request_id: expect.any(String), code: 'UNSUPPORTED_MEDIA_TYPE', error: expect.any(String) });
    });
  });

  describe('login', () => {
    it('answers an unknown email and a wrong password with one body, and logs both at warn without the password', async () => {
      const email = uniqueEmail('login');
      await createConfirmedUser(service, email, PASSWORD);
      const unknown = await service.request('POST', '/auth/login', { body: { email: uniqueEmail('nobody'), password: 'Secret-Guess-1' } });
      const wrong = await service.request('POST', '/auth/login', { body: { email, password: 'Secret-Guess-2' } });
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      expect(unknown.body).toEqual(INVALID_CREDENTIALS);
      expect(wrong.body).toEqual(INVALID_CREDENTIALS);
      const failures = service.logs.entries().filter((entry) => entry.event === 'login_failed');
      expect(failures.map((entry) => [entry.level, entry.reason, entry.email_domain])).toEqual(
        expect.arrayContaining([
          [40, 'unknown_email', 'example.com'],
          [40, 'wrong_password', 'example.com'],
        ]),
      );
      expect(service.logs.text).not.toMatch(/Secret-Guess/);
      // Warnings name the email's domain only. (The outbox's debug line for the sign-up mail may
      // name its recipient, so the whole log is not the place to look.)
      expect(JSON.stringify(service.logs.entries().filter((entry) => entry.level >= 40))).not.toContain(email);
    });

    it('spends as long on an unknown email as on a wrong password (a dummy hash is verified)', async () => {
      const email = uniqueEmail('timing');
      await createConfirmedUser(service, email, PASSWORD);
      const time = async (body: object) => {
        const started = process.hrtime.bigint();
        await service.request('POST', '/auth/login', { body });
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 7; i++) {
        unknown.push(await time({ email: uniqueEmail('nobody'), password: 'wrong password' }));
        wrong.push(await time({ email, password: 'wrong password' }));
      }
      // Without the dummy verification an unknown email answers in ~2 ms against ~20+ ms.
      expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.5);
    });

    it('reports an unconfirmed email only after the right password', async () => {
      const email = uniqueEmail('unconfirmed');
      await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
      const wrong = await service.request('POST', '/auth/login', { body: { email, password: 'not the password' } });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual(INVALID_CREDENTIALS);
      const right = await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
      expect(right.status).toBe(403);
      expect(right.body).toEqual(EMAIL_NOT_VERIFIED);
    });

    it.each([
      ['a missing password', { email: 'a@example.com' }, 'Invalid request: password should not be empty'],
      ['an invalid email', { email: 'nope', password: PASSWORD }, 'Invalid request: email must be an email address'],
      ['a password over 256 characters', { email: 'a@example.com', password: 'x'.repeat(257) }, 'Invalid request: password must be shorter than or equal to 256 characters'],
    ])('answers %s with 400 INVALID_REQUEST', async (_why, body, error) => {
      const response = await service.request('POST', '/auth/login', { body });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(invalidField(error));
    });
  });

  describe('no account enumeration', () => {
    it('answers a login with the password the caller registered with alike, whether or not a confirmed account has the address', async () => {
      const taken = uniqueEmail('enum-taken');
      const free = uniqueEmail('enum-free');
      await createConfirmedUser(service, taken, PASSWORD);
      const probe = 'the password I registered with';
      for (const email of [taken, free]) expect((await service.request('POST', '/auth/register', { body: { email, password: probe } })).status).toBe(201);
      const answers = await Promise.all([taken, free].map((email) => service.request('POST', '/auth/login', { body: { email, password: probe } })));
      expect(answers.map((answer) => [answer.status, answer.body])).toEqual([
        [403, EMAIL_NOT_VERIFIED],
        [403, EMAIL_NOT_VERIFIED],
      ]);
      // The owner still logs in with their own password, and a wrong one is a wrong one.
      expect((await service.request('POST', '/auth/login', { body: { email: taken, password: PASSWORD } })).status).toBe(200);
      const wrong = await Promise.all([taken, free].map((email) => service.request('POST', '/auth/login', { body: { email, password: 'neither password' } })));
      expect(wrong.map((answer) => [answer.status, answer.body])).toEqual([
        [401, INVALID_CREDENTIALS],
        [401, INVALID_CREDENTIALS],
      ]);
    });

    it('answers register identically for a new, an unconfirmed and a confirmed email (the id is random)', async () => {
      const unconfirmed = uniqueEmail('enum-unconfirmed');
      const confirmed = uniqueEmail('enum-confirmed');
      await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: PASSWORD } });
      await createConfirmedUser(service, confirmed, PASSWORD);
      const fresh = uniqueEmail('enum-new');
      const answers = await Promise.all(
        [fresh, unconfirmed, confirmed].map((email) => service.request('POST', '/auth/register', { body: { email, password: 'another password' } })),
      );
      [fresh, unconfirmed, confirmed].forEach((email, i) => {
        expect(answers[i].status).toBe(201);
        expect(answers[i].body).toEqual({ message: ACCOUNT_MESSAGES.registered, user: { id: expect.stringMatching(UUID), email } });
        expect(answers[i].headers.get('content-type')).toBe(answers[0].headers.get('content-type'));
      });
      expect(new Set(answers.map((answer) => answer.body.user.id)).size).toBe(3);
      const ids = await sql(service, 'SELECT id FROM users WHERE email IN (?, ?)', [unconfirmed, confirmed]);
      for (const { id } of ids) expect(answers.map((answer) => answer.body.user.id)).not.toContain(id);
    });

    it('tells the difference only by mail on register: a new link, or an "already registered" notice', async () => {
      const unconfirmed = uniqueEmail('mail-unconfirmed');
      const confirmed = uniqueEmail('mail-confirmed');
      await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: PASSWORD } });
      await nextMailTo(smtp, unconfirmed, 0);
      await createConfirmedUser(service, confirmed, PASSWORD);
      await nextMailTo(smtp, confirmed, 0);

      await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: 'another password' } });
      const again = await nextMailTo(smtp, unconfirmed, 1);
      const secondLink = linkStartingWith(again, confirmLinkPrefix(service));
      // Registered twice: the account is confirmed with neither password, and a link to choose one is mailed.
      expect((await clickConfirmationLink(service, secondLink)).headers.get('location')).toBe('http://dashboard.test/?choose_password=1');
      for (const password of ['another password', PASSWORD]) {
        expect((await service.request('POST', '/auth/login', { body: { email: unconfirmed, password } })).body).toEqual(INVALID_CREDENTIALS);
      }
      expect((await nextMailTo(smtp, unconfirmed, 2)).subject).toBe('Choose your Atiru password');

      await service.request('POST', '/auth/register', { body: { email: confirmed, password: 'another password', redirect_to: 'https://eu.atiru.test/app' } });
      const notice = await nextMailTo(smtp, confirmed, 1);
      expect(notice.links).toEqual(expect.arrayContaining(['https://eu.atiru.test/app']));
      const resetLink = linkStartingWith(notice, 'https://eu.atiru.test/app?token=');
      expect(notice.links.some((link) => link.startsWith(confirmLinkPrefix(service)))).toBe(false);
      // Its reset link is a working one.
      const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(resetLink), password: NEW_PASSWORD } });
      expect(reset.status).toBe(200);
      await login(service, confirmed, NEW_PASSWORD);
    });

    it('answers resend-confirmation identically for an unconfirmed, a confirmed and an unknown email, and mails only the unconfirmed', async () => {
      const unconfirmed = uniqueEmail('resend-unconfirmed');
      const confirmed = uniqueEmail('resend-confirmed');
      const unknown = uniqueEmail('resend-unknown');
      await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: PASSWORD } });
      await createConfirmedUser(service, confirmed, PASSWORD);
      await nextMailTo(smtp, confirmed, 0);
      await nextMailTo(smtp, unconfirmed, 0);

      const answers = [];
      for (const email of [unknown, confirmed, unconfirmed]) {
        answers.push(await service.request('POST', '/auth/resend-confirmation', { body: { email, redirect_to: 'https://app.atiru.test/in' } }));
      }
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ message: ACCOUNT_MESSAGES.confirmationResent });
      }
      const resent = await nextMailTo(smtp, unconfirmed, 1);
      const opened = await clickConfirmationLink(service, linkStartingWith(resent, confirmLinkPrefix(service)));
      expect(opened.headers.get('location')).toBe('https://app.atiru.test/in');
      expect(smtp.mailsTo(unknown)).toHaveLength(0);
      expect(smtp.mailsTo(confirmed)).toHaveLength(1);
    });

    it('answers forgot-password identically for a known and an unknown email, and mails only the known', async () => {
      const known = uniqueEmail('forgot-known');
      const unknown = uniqueEmail('forgot-unknown');
      await createConfirmedUser(service, known, PASSWORD);
      await nextMailTo(smtp, known, 0);
      const forUnknown = await service.request('POST', '/auth/forgot-password', { body: { email: unknown } });
      const forKnown = await service.request('POST', '/auth/forgot-password', { body: { email: known } });
      expect(forUnknown.status).toBe(200);
      expect(forKnown.status).toBe(forUnknown.status);
      expect(forKnown.body).toEqual(forUnknown.body);
      expect(forKnown.body).toEqual({ message: ACCOUNT_MESSAGES.resetRequested });
      const mail = await nextMailTo(smtp, known, 1);
      expect(linkStartingWith(mail, 'http://dashboard.test/?token=')).toBeTruthy();
      expect(smtp.mailsTo(unknown)).toHaveLength(0);
    });

    it('checks redirect_to on resend and forgot whether or not the account exists', async () => {
      for (const path of ['/auth/resend-confirmation', '/auth/forgot-password']) {
        const response = await service.request('POST', path, { body: { email: uniqueEmail('nobody'), redirect_to: 'https://evil.example/' } });
        expect(response.status).toBe(400);
        expect(response.body).toEqual(invalid('Invalid request: redirect_to is not an allowed redirect URL'));
        const spaces = await service.request('POST', path, { body: { email: uniqueEmail('nobody'), redirect_to: `https://app.atiru.test/${' '.repeat(1000)}x` } });
        expect([spaces.status, spaces.body]).toEqual([400, invalid(LONG_REDIRECT)]);
        const badEmail = await service.request('POST', path, { body: { email: 'nope' } });
        expect(badEmail.body).toEqual(invalidField('Invalid request: email must be an email address'));
      }
    });
  });

  describe('reset-password errors', () => {
    it.each([
      ['an unknown token', { token: 'A'.repeat(43), password: NEW_PASSWORD }, INVALID_RESET],
      ['a malformed token', { token: 'nope', password: NEW_PASSWORD }, INVALID_RESET],
      ['a missing token', { password: NEW_PASSWORD }, invalidField('Invalid request: token should not be empty')],
      ['a short password', { token: 'A'.repeat(43), password: '123' }, invalidField('Invalid request: password must be longer than or equal to 6 characters')],
    ])('answers %s with 400 INVALID_REQUEST', async (_why, body, expected) => {
      const response = await service.request('POST', '/auth/reset-password', { body });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(expected);
    });
  });

  describe('logout errors', () => {
    it('answers without credentials with 401 MISSING_AUTH', async () => {
      const response = await service.request('POST', '/auth/logout');
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        statusCode: 401,
        request_id: expect.any(String),
        code: 'MISSING_AUTH',
        error: 'Authentication required: send Authorization: Bearer <token> or X-Api-Key: <key>',
      });
    });

    it('answers a forged access token with 401 INVALID_OR_EXPIRED_TOKEN', async () => {
      const response = await service.request('POST', '/auth/logout', { headers: bearer('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln') });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ statusCode: 401, request_id: expect.any(String), code: 'INVALID_OR_EXPIRED_TOKEN', error: 'Invalid or expired token' });
    });

    it('answers an unknown scope with 400 INVALID_REQUEST and revokes nothing', async () => {
      const email = uniqueEmail('scope');
      await createConfirmedUser(service, email, PASSWORD);
      const { session } = await login(service, email, PASSWORD);
      const response = await service.request('POST', '/auth/logout?scope=everything', { headers: bearer(session.access_token) });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(invalidField('Invalid request: scope must be one of the following values: local, others, global'));
      expect((await refresh(session.refresh_token)).status).toBe(200);
    });
  });
});

describe('accounts: expiring links', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url, CONFIRM_TOKEN_TTL_SECONDS: '2', RESET_TOKEN_TTL_SECONDS: '2' } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  it('redirects an expired confirmation link to its redirect_to with the error, even after it was used', async () => {
    const email = uniqueEmail('expired-confirm');
    const unused = uniqueEmail('expired-unused');
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD, redirect_to: 'https://app.atiru.test/welcome?from=mail' } });
    await service.request('POST', '/auth/register', { body: { email: unused, password: PASSWORD } });
    const link = linkStartingWith(await nextMailTo(smtp, email, 0), confirmLinkPrefix(service));
    const unusedLink = linkStartingWith(await nextMailTo(smtp, unused, 0), confirmLinkPrefix(service));
    expect((await clickConfirmationLink(service, link)).headers.get('location')).toBe('https://app.atiru.test/welcome?from=mail');
    const page = await service.request('GET', pathOf(unusedLink));
    await sleep(2100);

    const late = await service.request('GET', pathOf(link));
    expect(late.status).toBe(302);
    const location = new URL(late.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://app.atiru.test/welcome');
    expect(Object.fromEntries(location.searchParams)).toEqual({ from: 'mail', error: ACCOUNT_MESSAGES.invalidConfirmation, error_code: 'INVALID_REQUEST' });

    // A page left open until its link expired: the button lands on the error too.
    const pressedLate = await service.request('POST', '/auth/confirm-link', {
      raw: new URLSearchParams(formOf(page.text).fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(pressedLate.status).toBe(303);
    expect(Object.fromEntries(new URL(pressedLate.headers.get('location')!).searchParams)).toEqual({ error: ACCOUNT_MESSAGES.invalidConfirmation, error_code: 'INVALID_REQUEST' });

    const neverOpened = await service.request('GET', pathOf(unusedLink));
    expect(new URL(neverOpened.headers.get('location')!).searchParams.get('error_code')).toBe('INVALID_REQUEST');
    // The registration expired with its link: no account, not even an unconfirmed one.
    const expiredRegistration = await service.request('POST', '/auth/login', { body: { email: unused, password: PASSWORD } });
    expect(expiredRegistration.body).toEqual(INVALID_CREDENTIALS);
  });

  it('refuses an expired reset token and keeps the old password', async () => {
    const email = uniqueEmail('expired-reset');
    await createConfirmedUser(service, email, PASSWORD);
    await nextMailTo(smtp, email, 0);
    await service.request('POST', '/auth/forgot-password', { body: { email } });
    const token = tokenOf(linkStartingWith(await nextMailTo(smtp, email, 1), 'http://dashboard.test/?token='));
    await sleep(2100);
    const response = await service.request('POST', '/auth/reset-password', { body: { token, password: NEW_PASSWORD } });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(INVALID_RESET);
    await login(service, email, PASSWORD);
  });
});

describe('accounts: rate limits on the account and session routes', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { RATE_LIMIT_LOGIN_IP_EMAIL: '3/60', RATE_LIMIT_MAIL_IP_EMAIL: '2/60', RATE_LIMIT_REFRESH_IP: '3/60' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  const expectRateLimited = (response: { status: number; body: unknown; headers: Headers }) => {
    expect(response.status).toBe(429);
    expect(response.body).toEqual({ statusCode: 429, request_id: expect.any(String), code: 'RATE_LIMITED', error: expect.stringMatching(/^Too many requests/) });
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  };

  it("limits one client's mail requests for one address across register, resend and forgot, with the same answer for any address", async () => {
    const email = uniqueEmail('flood');
    expect((await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    expect((await service.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    expectRateLimited(await service.request('POST', '/auth/resend-confirmation', { body: { email } }));
    expectRateLimited(await service.request('POST', '/auth/register', { body: { email: email.toUpperCase(), password: PASSWORD } }));
  });

  it('limits password guessing on one account, failures costing more', async () => {
    const email = uniqueEmail('guess');
    const wrong = await service.request('POST', '/auth/login', { body: { email, password: 'guess number one' } });
    expect(wrong.body).toEqual(INVALID_CREDENTIALS);
    expectRateLimited(await service.request('POST', '/auth/login', { body: { email, password: 'guess number two' } }));
  });

  it('limits refreshes per client address', async () => {
    const refresh = () => service.request('POST', '/auth/refresh', { body: { refresh_token: 'A'.repeat(43) } });
    expect(await statusesOf(4, refresh)).toEqual([401, 401, 401, 429]);
  });
});

describe('accounts: bodies that are not a flat JSON object', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: GENEROUS_RATE_LIMITS });
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each([
    ['an array', '[]', 'Invalid request: the body must be a JSON object'],
    ['a deeply nested array', '['.repeat(5000) + ']'.repeat(5000), 'Invalid request: the body must be a JSON object'],
    ['a string', '"ada@example.com"', 'Invalid request: the body must be a JSON object'],
    ['null', 'null', 'Invalid request: the body must be a JSON object'],
    ['a deeply nested field', `{"email":${'['.repeat(5000)}${']'.repeat(5000)},"password":"correct horse"}`, 'Invalid request: the body is nested too deeply'],
  ])('answers %s with 400 INVALID_REQUEST', async (_why, raw, error) => {
    for (const path of ['/auth/register', '/auth/login', '/auth/refresh', '/auth/reset-password', '/auth/forgot-password']) {
      const response = await service.request('POST', path, { raw, headers: { 'content-type': 'application/json' } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(invalid(error));
    }
  });

  it('answers a missing body with 400 INVALID_REQUEST', async () => {
    const response = await service.request('POST', '/auth/login');
    expect(response.status).toBe(400);
    expect(response.body).toEqual(invalid('Invalid request: the body must be a JSON object'));
  });
});
