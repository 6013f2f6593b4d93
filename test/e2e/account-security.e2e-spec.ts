import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ACCOUNT_MESSAGES } from '../../src/accounts/accounts.service';
import { AccountRequestsWorker } from '../../src/accounts/account-requests/account-requests.worker';
import { NO_PASSWORD_HASH, PasswordHasher } from '../../src/accounts/passwords/password.hasher';
import { clickConfirmationLink, CONFIRM_REGISTRATION, createConfirmedUser, GENEROUS_RATE_LIMITS, linkStartingWith, login, nextMailTo, pathOf, sql, uniqueEmail } from '../support/accounts';
import { signedInUser } from '../support/signed-in-user';
import { TestSmtpServer } from '../support/smtp';
import { startTestApp, TestApp, TestResponse } from '../support/test-app';
import { sleep, waitUntil } from '../support/wait';

const INVALID_CREDENTIALS = { statusCode: 401, code: 'INVALID_CREDENTIALS', error: 'Invalid email or password', request_id: expect.any(String) };
const EMAIL_NOT_VERIFIED = { statusCode: 403, code: 'EMAIL_NOT_VERIFIED', error: 'Confirm your email address before logging in', request_id: expect.any(String) };
const INVALID_RESET = { statusCode: 400, code: 'INVALID_REQUEST', error: ACCOUNT_MESSAGES.invalidReset, request_id: expect.any(String) };
const LOG_SECRET = 'a test secret that keys the email fingerprints';
/** Where a confirmation lands when the address was registered more than once (DASHBOARD_URL is the test's). */
const CHOOSE_PASSWORD_LANDING = 'http://dashboard.test/?choose_password=1';
const RESET_PREFIX = 'http://dashboard.test/?token=';

const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
/** How log lines keyed with LOG_SECRET name an address. */
const fingerprintOf = (email: string) => createHmac('sha256', Buffer.from(hkdfSync('sha256', LOG_SECRET, Buffer.alloc(0), 'atiru log fingerprint v1', 32))).update(email).digest('hex').slice(0, 16);
const randomToken = () => randomBytes(32).toString('base64url');

describe('account security (real app, real PostgreSQL, real SMTP server)', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;
  const confirmPrefix = () => `${service.config.http.publicUrl}/auth/confirm?token=`;
  const loginAs = (email: string, password: string, headers: Record<string, string> = {}) =>
    service.request('POST', '/auth/login', { body: { email, password }, headers });

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url, LOG_FINGERPRINT_SECRET: LOG_SECRET } });
  });

  /** Opens the "choose your password" mail (the `index`th to `email`), sets `password` with its link and logs in. */
  async function choosePasswordFromMail(email: string, index: number, password: string) {
    const mail = await nextMailTo(smtp, email, index);
    expect(mail.subject).toBe('Choose your Atiru password');
    expect(mail.text).toContain('registered more than once');
    const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(linkStartingWith(mail, RESET_PREFIX)), password } });
    expect(reset.status).toBe(200);
    return login(service, email, password);
  }

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  describe('pre-claiming an address', () => {
    it("does not let a mail gateway that opens every link confirm the attacker's registration", async () => {
      const victim = uniqueEmail('scanned');
      // The attacker registers an address whose mail gateway opens links to check them (Safe Links and the like).
      await service.request('POST', '/auth/register', { body: { email: victim, password: 'attacker chose this' } });
      const link = linkStartingWith(await nextMailTo(smtp, victim, 0), confirmPrefix());
      // The gateway fetches the link (HEAD, then GET), and fetches it again later.
      for (let visit = 0; visit < 2; visit++) {
        await service.request('HEAD', pathOf(link), { contract: false });
        await service.request('GET', pathOf(link));
      }
      // Nothing was confirmed: the attacker's password is still a registration's, which logs nobody in.
      expect((await loginAs(victim, 'attacker chose this')).body).toEqual(EMAIL_NOT_VERIFIED);
      expect(await sql(service, 'SELECT id FROM users WHERE email = ?', [victim])).toEqual([]);
    });

    it("never leaves the attacker's password on the account the owner confirms", async () => {
      const victim = uniqueEmail('victim');
      // The attacker registers the owner's address first, with a password of their choosing.
      const attacker = await service.request('POST', '/auth/register', { body: { email: victim, password: 'attacker chose this' } });
      expect(attacker.status).toBe(201);
      const attackersMail = await nextMailTo(smtp, victim, 0);
      // Until a link is clicked, the attacker's password is a pending registration's: 403, never a session.
      expect((await loginAs(victim, 'attacker chose this')).body).toEqual(EMAIL_NOT_VERIFIED);

      // The owner registers later with their own password, and confirms through the mail they receive.
      const owner = await service.request('POST', '/auth/register', { body: { email: victim, password: 'the owner chose this' } });
      expect(owner.status).toBe(201);
      expect(owner.body).toEqual({ message: ACCOUNT_MESSAGES.registered, user: { id: expect.any(String), email: victim } });
      expect(owner.body.user.id).not.toBe(attacker.body.user.id);
      const ownersMail = await nextMailTo(smtp, victim, 1);
      const confirmed = await clickConfirmationLink(service, linkStartingWith(ownersMail, confirmPrefix()));
      expect(confirmed.status).toBe(303);
      // Registered twice: the click proves the mailbox, not whose password is whose, so none is kept.
      expect(confirmed.headers.get('location')).toBe(CHOOSE_PASSWORD_LANDING);
      expect((await loginAs(victim, 'attacker chose this')).body).toEqual(INVALID_CREDENTIALS);
      expect((await loginAs(victim, 'the owner chose this')).body).toEqual(INVALID_CREDENTIALS);

      // The owner chooses the password from their mailbox.
      const session = await choosePasswordFromMail(victim, 2, 'the owner chose again');
      expect([attacker.body.user.id, owner.body.user.id]).not.toContain(session.user.id);

      // The attacker's own link died with their registration.
      const late = await service.request('GET', pathOf(linkStartingWith(attackersMail, confirmPrefix())));
      expect(new URL(late.headers.get('location')!).searchParams.get('error_code')).toBe('INVALID_REQUEST');
      expect((await loginAs(victim, 'attacker chose this')).body).toEqual(INVALID_CREDENTIALS);
      await login(service, victim, 'the owner chose again');
      expect(await sql(service, 'SELECT count(*)::int AS pending FROM registrations WHERE email = ?', [victim])).toEqual([{ pending: 0 }]);
    });

    it("does not let the victim's resend hand the account to the attacker's newer registration", async () => {
      const victim = uniqueEmail('resend-hijack');
      // 1. The victim registers; the mail goes astray.
      await service.request('POST', '/auth/register', { body: { email: victim, password: 'victim password' } });
      await nextMailTo(smtp, victim, 0);
      // 2. The attacker registers the same address, later, with their password.
      await service.request('POST', '/auth/register', { body: { email: victim, password: 'attacker password' } });
      await nextMailTo(smtp, victim, 1);
      // 3. The victim asks for the mail again: the newest registration, the attacker's, is renewed.
      expect((await service.request('POST', '/auth/resend-confirmation', { body: { email: victim } })).status).toBe(200);
      const resent = await nextMailTo(smtp, victim, 2);
      const link = linkStartingWith(resent, confirmPrefix());
      // 4. The victim clicks the link they asked for.
      const opened = await clickConfirmationLink(service, link);
      expect(opened.status).toBe(303);
      expect(opened.headers.get('location')).toBe(CHOOSE_PASSWORD_LANDING);
      // A program confirming the same token (idempotently) is told the same.
      const posted = await service.request('POST', '/auth/confirm', { body: { token: tokenOf(link) } });
      expect(posted.status).toBe(200);
      expect(posted.body).toEqual({ message: ACCOUNT_MESSAGES.emailConfirmedChoosePassword });
      expect(ACCOUNT_MESSAGES.emailConfirmedChoosePassword).toBe(
        'Your address is confirmed. Because it was registered more than once, choose your password from the link we just sent.',
      );

      // The attacker's password never logs in, nor the victim's: one account, confirmed, with no password.
      expect((await loginAs(victim, 'attacker password')).body).toEqual(INVALID_CREDENTIALS);
      expect((await loginAs(victim, 'victim password')).body).toEqual(INVALID_CREDENTIALS);
      const [account] = await sql(service, 'SELECT email_confirmed_at, password_hash FROM users WHERE lower(email) = ?', [victim]);
      expect(account.email_confirmed_at).not.toBeNull();
      expect(account.password_hash).toBe(NO_PASSWORD_HASH);
      // Even the marker itself, typed as a password, is refused.
      expect((await loginAs(victim, NO_PASSWORD_HASH)).body).toEqual(INVALID_CREDENTIALS);

      // The victim sets their password from the link mailed to them (one mail, opened twice or not).
      await choosePasswordFromMail(victim, 3, 'victim chose this now');
      expect((await loginAs(victim, 'attacker password')).body).toEqual(INVALID_CREDENTIALS);
      await smtp.waitFor(() => smtp.mailsTo(victim).length >= 5);
      expect(smtp.mailsTo(victim).map((mail) => mail.subject)).toEqual([
        'Confirm your email for Atiru',
        'Confirm your email for Atiru',
        'Confirm your email for Atiru',
        'Choose your Atiru password',
        'Your Atiru password was changed',
      ]);
    });

    it('counts a registration that expired while a newer one of the address was live', async () => {
      const victim = uniqueEmail('overlap');
      const first = await service.request('POST', '/auth/register', { body: { email: victim, password: 'victim password' } });
      await nextMailTo(smtp, victim, 0);
      await service.request('POST', '/auth/register', { body: { email: victim, password: 'attacker password' } });
      await nextMailTo(smtp, victim, 1);
      // The victim's registration expires; the attacker's is still live, so the purge keeps the victim's.
      await sql(service, `UPDATE registrations SET expires_at = now() - interval '1 minute' WHERE id = ?`, [first.body.user.id]);
      await service.app.get(AccountRequestsWorker).decideBatch();
      expect(await sql(service, 'SELECT id FROM registrations WHERE id = ?', [first.body.user.id])).toEqual([{ id: first.body.user.id }]);

      await service.request('POST', '/auth/resend-confirmation', { body: { email: victim } });
      const resent = await nextMailTo(smtp, victim, 2);
      expect((await clickConfirmationLink(service, linkStartingWith(resent, confirmPrefix()))).headers.get('location')).toBe(CHOOSE_PASSWORD_LANDING);
      expect((await loginAs(victim, 'attacker password')).body).toEqual(INVALID_CREDENTIALS);
      await choosePasswordFromMail(victim, 3, 'victim chose this now');
    });

    it('purges expired registrations once their address has no live one left', async () => {
      const email = uniqueEmail('purged');
      await service.request('POST', '/auth/register', { body: { email, password: 'first registration' } });
      await service.request('POST', '/auth/register', { body: { email, password: 'second registration' } });
      await smtp.waitFor(() => smtp.mailsTo(email).length === 2);
      await sql(service, `UPDATE registrations SET expires_at = now() - interval '1 minute' WHERE email = ?`, [email]);
      await service.app.get(AccountRequestsWorker).decideBatch();
      expect(await sql(service, 'SELECT id FROM registrations WHERE email = ?', [email])).toEqual([]);
    });

    it('confirms an address registered twice without either password, whichever link is clicked', async () => {
      const email = uniqueEmail('twice');
      await service.request('POST', '/auth/register', { body: { email, password: 'first registration' } });
      const first = await nextMailTo(smtp, email, 0);
      await service.request('POST', '/auth/register', { body: { email, password: 'second registration' } });
      const second = await nextMailTo(smtp, email, 1);

      // The newest registration answers a login; an earlier one's password is no longer usable.
      expect((await loginAs(email, 'second registration')).body).toEqual(EMAIL_NOT_VERIFIED);
      expect((await loginAs(email, 'first registration')).body).toEqual(INVALID_CREDENTIALS);

      // The first link is clicked: the account is confirmed, with neither password.
      expect((await clickConfirmationLink(service, linkStartingWith(first, confirmPrefix()))).headers.get('location')).toBe(CHOOSE_PASSWORD_LANDING);
      expect((await loginAs(email, 'first registration')).body).toEqual(INVALID_CREDENTIALS);
      expect((await loginAs(email, 'second registration')).body).toEqual(INVALID_CREDENTIALS);
      // The second link died with its registration.
      const late = await service.request('GET', pathOf(linkStartingWith(second, confirmPrefix())));
      expect(new URL(late.headers.get('location')!).searchParams.get('error_code')).toBe('INVALID_REQUEST');

      // The choose-password mail may be lost: forgot-password works for an account without a password.
      await nextMailTo(smtp, email, 2);
      await service.request('POST', '/auth/forgot-password', { body: { email } });
      const resetMail = await nextMailTo(smtp, email, 3);
      expect(resetMail.subject).toBe('Reset your Atiru password');
      const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(linkStartingWith(resetMail, RESET_PREFIX)), password: 'chosen afterwards' } });
      expect(reset.status).toBe(200);
      await login(service, email, 'chosen afterwards');
    });

    it('sends no link for a registration of an address that is already confirmed, and its password gets no session, only the answer a free address gives', async () => {
      const email = uniqueEmail('taken');
      await createConfirmedUser(service, email, 'the real password');
      await nextMailTo(smtp, email, 0);
      const again = await service.request('POST', '/auth/register', { body: { email, password: 'someone else' } });
      expect(again.status).toBe(201);
      const notice = await nextMailTo(smtp, email, 1);
      expect(notice.subject).toBe('Someone tried to sign up with your email');
      expect(notice.links.some((link) => link.startsWith(confirmPrefix()))).toBe(false);
      // Kept, decided, until it expires: register-then-login must not tell a taken address from a free one.
      expect(await sql(service, 'SELECT processed_at IS NOT NULL AS decided FROM registrations WHERE id = ?', [again.body.user.id])).toEqual([{ decided: true }]);
      const free = uniqueEmail('free');
      await service.request('POST', '/auth/register', { body: { email: free, password: 'someone else' } });
      expect((await loginAs(free, 'someone else')).body).toEqual(EMAIL_NOT_VERIFIED);
      expect((await loginAs(email, 'someone else')).body).toEqual(EMAIL_NOT_VERIFIED);
      expect((await loginAs(email, 'a third password')).body).toEqual(INVALID_CREDENTIALS);
      await login(service, email, 'the real password');
    });

    it('renews a registration on resend-confirmation whether or not the address is taken: a login with its password past its first end tells neither apart', async () => {
      const taken = uniqueEmail('taken-resent');
      await createConfirmedUser(service, taken, 'the real password');
      const free = uniqueEmail('free-resent');
      for (const email of [taken, free]) expect((await service.request('POST', '/auth/register', { body: { email, password: 'the prober chose this' } })).status).toBe(201);
      await waitUntil(
        async () => (await sql(service, 'SELECT count(*)::int AS n FROM registrations WHERE email IN (?, ?) AND processed_at IS NOT NULL', [taken, free]))[0].n === 2,
        'both registrations decided',
      );
      // Their first end is near; a resend renews them.
      await sql(service, `UPDATE registrations SET expires_at = now() + interval '1 second' WHERE email IN (?, ?)`, [taken, free]);
      for (const email of [taken, free]) expect((await service.request('POST', '/auth/resend-confirmation', { body: { email } })).status).toBe(200);
      await waitUntil(async () => (await sql(service, 'SELECT count(*)::int AS n FROM account_requests WHERE email IN (?, ?)', [taken, free]))[0].n === 0, 'the resends decided');
      await sleep(1500);
      expect((await loginAs(free, 'the prober chose this')).body).toEqual(EMAIL_NOT_VERIFIED);
      expect((await loginAs(taken, 'the prober chose this')).body).toEqual(EMAIL_NOT_VERIFIED);
    });

    it("leaves a prober's registration of a taken address to expire when the owner resets the password: its password answers 403 as at a free address", async () => {
      const taken = uniqueEmail('taken-reset');
      await createConfirmedUser(service, taken, 'the real password');
      await nextMailTo(smtp, taken, 0);
      expect((await service.request('POST', '/auth/register', { body: { email: taken, password: 'the prober chose this' } })).status).toBe(201);
      await nextMailTo(smtp, taken, 1);
      await service.request('POST', '/auth/forgot-password', { body: { email: taken } });
      const resetMail = await nextMailTo(smtp, taken, 2);
      const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(linkStartingWith(resetMail, RESET_PREFIX)), password: 'the owner chose anew' } });
      expect(reset.status).toBe(200);
      expect((await loginAs(taken, 'the prober chose this')).body).toEqual(EMAIL_NOT_VERIFIED);
      await login(service, taken, 'the owner chose anew');
    });

    it('keeps accounts from before pending registrations working, and lets a new registration replace an unconfirmed one', async () => {
      // What the service stored before this change: an unconfirmed user row and its confirmation token.
      const legacy = uniqueEmail('legacy');
      const legacyToken = randomToken();
      const hash = await service.app.get(PasswordHasher).hash('legacy password');
      const [{ id }] = await sql(service, 'INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), ?, ?) RETURNING id', [legacy, hash]);
      await sql(service, `INSERT INTO one_time_tokens (id, token_hash, purpose, user_id, expires_at) VALUES (gen_random_uuid(), ?, 'confirm_email', ?, now() + interval '1 hour')`, [
        createHash('sha256').update(legacyToken).digest('hex'),
        id,
      ]);
      expect((await loginAs(legacy, 'legacy password')).body).toEqual(EMAIL_NOT_VERIFIED);
      expect((await clickConfirmationLink(service, `${confirmPrefix()}${legacyToken}`)).headers.get('location')).toBe('http://dashboard.test/');
      expect((await login(service, legacy, 'legacy password')).user.id).toBe(id);

      // An unconfirmed legacy account, registered again: two registrations of one address, so the
      // new link confirms the same user without either password, and its owner chooses one.
      const unconfirmed = uniqueEmail('legacy-unconfirmed');
      const [{ id: legacyId }] = await sql(service, 'INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), ?, ?) RETURNING id', [unconfirmed, hash]);
      await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: 'registered anew' } });
      const mail = await nextMailTo(smtp, unconfirmed, 0);
      expect((await clickConfirmationLink(service, linkStartingWith(mail, confirmPrefix()))).headers.get('location')).toBe(CHOOSE_PASSWORD_LANDING);
      expect((await loginAs(unconfirmed, 'registered anew')).body).toEqual(INVALID_CREDENTIALS);
      expect((await loginAs(unconfirmed, 'legacy password')).body).toEqual(INVALID_CREDENTIALS);
      expect((await choosePasswordFromMail(unconfirmed, 1, 'chosen by the owner')).user.id).toBe(legacyId);

      // The legacy account's own link, clicked while the address has a pending registration: the same.
      const contested = uniqueEmail('legacy-contested');
      const contestedToken = randomToken();
      const [{ id: contestedId }] = await sql(service, 'INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), ?, ?) RETURNING id', [contested, hash]);
      await sql(service, `INSERT INTO one_time_tokens (id, token_hash, purpose, user_id, expires_at) VALUES (gen_random_uuid(), ?, 'confirm_email', ?, now() + interval '1 hour')`, [
        createHash('sha256').update(contestedToken).digest('hex'),
        contestedId,
      ]);
      await service.request('POST', '/auth/register', { body: { email: contested, password: 'registered anew' } });
      await nextMailTo(smtp, contested, 0);
      expect((await clickConfirmationLink(service, `${confirmPrefix()}${contestedToken}`)).headers.get('location')).toBe(CHOOSE_PASSWORD_LANDING);
      expect((await loginAs(contested, 'legacy password')).body).toEqual(INVALID_CREDENTIALS);
      expect((await loginAs(contested, 'registered anew')).body).toEqual(INVALID_CREDENTIALS);
      expect((await choosePasswordFromMail(contested, 1, 'chosen by the owner')).user.id).toBe(contestedId);
    });

    it('resends the link of the pending registration, which then confirms it with its password', async () => {
      const email = uniqueEmail('resend');
      await service.request('POST', '/auth/register', { body: { email, password: 'only registration' } });
      await nextMailTo(smtp, email, 0);
      await service.request('POST', '/auth/resend-confirmation', { body: { email } });
      const resent = await nextMailTo(smtp, email, 1);
      const link = linkStartingWith(resent, confirmPrefix());
      expect((await clickConfirmationLink(service, link)).headers.get('location')).toBe('http://dashboard.test/');
      expect((await service.request('POST', '/auth/confirm', { body: { token: tokenOf(link) } })).body).toEqual({ message: ACCOUNT_MESSAGES.emailConfirmed });
      await login(service, email, 'only registration');
      // One registration: its password is the account's, and no choose-password mail is written.
      expect(await sql(service, 'SELECT template FROM mail_outbox WHERE recipient = ? ORDER BY id', [email])).toEqual([{ template: 'confirm-email' }, { template: 'confirm-email' }]);
    });
  });

  describe('password reset', () => {
    it('refuses a made-up token with 400 before hashing anything', async () => {
      const hasher = service.app.get(PasswordHasher);
      const hash = jest.spyOn(hasher, 'hash');
      const verify = jest.spyOn(hasher, 'verify');
      try {
        for (let i = 0; i < 20; i++) {
          const response = await service.request('POST', '/auth/reset-password', { body: { token: randomToken(), password: 'a new password' } });
          expect(response.status).toBe(400);
          expect(response.body).toEqual(INVALID_RESET);
        }
        expect(hash).not.toHaveBeenCalled();
        expect(verify).not.toHaveBeenCalled();

        // The same hasher is counted on a real reset: the spy would have seen the work.
        const email = uniqueEmail('counted');
        await createConfirmedUser(service, email, 'old password');
        await nextMailTo(smtp, email, 0);
        hash.mockClear();
        await service.request('POST', '/auth/forgot-password', { body: { email } });
        const token = tokenOf(linkStartingWith(await nextMailTo(smtp, email, 1), 'http://dashboard.test/?token='));
        expect((await service.request('POST', '/auth/reset-password', { body: { token, password: 'a new password' } })).status).toBe(200);
        expect(hash).toHaveBeenCalledTimes(1);
      } finally {
        hash.mockRestore();
        verify.mockRestore();
      }
    });

    it('mails the owner a notice with the time, client IP and user agent when the password is reset', async () => {
      const email = uniqueEmail('notice-reset');
      await createConfirmedUser(service, email, 'old password');
      await nextMailTo(smtp, email, 0);
      await service.request('POST', '/auth/forgot-password', { body: { email } });
      const token = tokenOf(linkStartingWith(await nextMailTo(smtp, email, 1), 'http://dashboard.test/?token='));
      const before = Date.now();
      const reset = await service.request('POST', '/auth/reset-password', { body: { token, password: 'a new password' }, headers: { 'user-agent': 'ResetAgent/2.0 (notice test)' } });
      expect(reset.status).toBe(200);

      const notice = await nextMailTo(smtp, email, 2);
      expect(notice.subject).toBe('Your Atiru password was changed');
      expect(notice.text).toContain('The password of your Atiru account was just changed');
      expect(notice.text).toContain('IP address: 127.0.0.1');
      expect(notice.text).toContain('Browser or app: ResetAgent/2.0 (notice test)');
      expect(noticeTime(notice.text)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(noticeTime(notice.text)).toBeLessThanOrEqual(Date.now());
      expect(notice.text).toMatch(/If it was not you, .*choose a new password/);
      expect(notice.html).toContain('ResetAgent/2.0 (notice test)');
      expect(notice.links).toEqual(['http://dashboard.test/']);
    });
  });

  it('mails the owner a notice with the name, prefix, time, client IP and user agent when an API key is created', async () => {
    const email = uniqueEmail('notice-key');
    await createConfirmedUser(service, email, 'key owner password');
    await nextMailTo(smtp, email, 0);
    const { session } = await login(service, email, 'key owner password');
    const before = Date.now();
    const created = await service.request('POST', '/auth/api-keys', {
      body: { name: 'CI <deploy> key' },
      headers: { authorization: `Bearer ${session.access_token}`, 'user-agent': 'KeyMaker/1.0' },
    });
    expect(created.status).toBe(201);

    const notice = await nextMailTo(smtp, email, 1);
    expect(notice.subject).toBe('A new API key was created on your Atiru account');
    expect(notice.text).toContain(`"CI <deploy> key", starting with ${created.body.key_prefix}.`);
    expect(notice.text).toContain('IP address: 127.0.0.1');
    expect(notice.text).toContain('Browser or app: KeyMaker/1.0');
    expect(noticeTime(notice.text)).toBe(Math.floor(new Date(created.body.created_at).getTime() / 1000) * 1000);
    expect(noticeTime(notice.text)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(notice.text).toMatch(/If it was not you, .*revoke the key, change your password/);
    expect(notice.html).toContain('CI &lt;deploy&gt; key');
    expect(notice.text).not.toContain(created.body.key);
    expect(notice.html).not.toContain(created.body.key);
  });

  it('logs a failed login with the client IP and a keyed hash of the email, and nothing of the password', async () => {
    const email = uniqueEmail('logged');
    await createConfirmedUser(service, email, 'the right password');
    const from = service.logs.lines.length;
    await loginAs(email, 'Guessed-Password-1');
    await loginAs(uniqueEmail('nobody'), 'Guessed-Password-2');
    const lines = service.logs.lines.slice(from).map((line) => JSON.parse(line)).filter((entry) => entry.event === 'login_failed');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 40,
      reason: 'wrong_password',
      ip: '127.0.0.1',
      email_domain: 'example.com',
      email_hash: fingerprintOf(email),
    });
    expect(lines[0].email_hash).not.toBe(createHash('sha256').update(email).digest('hex').slice(0, 16));
    expect(lines[1]).toMatchObject({ reason: 'unknown_email', ip: '127.0.0.1' });
    expect(service.logs.text).not.toMatch(/Guessed-Password/);
    expect(JSON.stringify(lines)).not.toContain(email);
  });

  it('leaves the confirmation token out of error logs, which keep the path only', async () => {
    const from = service.logs.lines.length;
    const token = randomToken();
    // Without its table the look-up fails: an unexpected error, logged at error with the request.
    await sql(service, 'ALTER TABLE one_time_tokens RENAME TO one_time_tokens_away');
    try {
      // The browser link still lands on the dashboard, with an error it can show.
      const response = await service.request('GET', `/auth/confirm?token=${token}`, { contract: false });
      expect(response.status).toBe(302);
      expect(new URL(response.headers.get('location')!).searchParams.get('error_code')).toBe('INTERNAL_ERROR');
    } finally {
      await sql(service, 'ALTER TABLE one_time_tokens_away RENAME TO one_time_tokens');
    }
    const logged = service.logs.lines.slice(from).join('\n');
    expect(logged).toContain('/auth/confirm');
    expect(logged).not.toContain(token);
  });

  it('confirms a registration with the helper tests use, as its link would', async () => {
    // CONFIRM_REGISTRATION stands in for a click in other test files: it must agree with the real thing.
    const email = uniqueEmail('helper');
    const registered = await service.request('POST', '/auth/register', { body: { email, password: 'helper password' } });
    expect(await sql(service, CONFIRM_REGISTRATION, [registered.body.user.id])).toEqual([{ id: registered.body.user.id }]);
    expect((await login(service, email, 'helper password')).user.id).toBe(registered.body.user.id);
    expect(await sql(service, 'SELECT id FROM registrations WHERE email = ?', [email])).toEqual([]);
  });
});

describe('account security: reset-password rate limits', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { TRUST_PROXY: 'true', RATE_LIMIT_RESET_IP: '5/60', RATE_LIMIT_RESET_TOKEN: '3/60' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  const reset = (token: string, ip: string) =>
    service.request('POST', '/auth/reset-password', { body: { token, password: 'a new password' }, headers: { 'x-forwarded-for': ip } });

  const expectRateLimited = (response: { status: number; body: unknown; headers: Headers }) => {
    expect(response.status).toBe(429);
    expect(response.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', error: expect.stringMatching(/^Too many requests/), request_id: expect.any(String) });
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  };

  it('answers a burst of random tokens from one address with 429 and Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      const response = await reset(randomToken(), '203.0.113.7');
      statuses.push(response.status);
      if (response.status === 429) expectRateLimited(response);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429]);
    // Another address is counted on its own.
    expect((await reset(randomToken(), '203.0.113.8')).status).toBe(400);
  });

  it('limits one token tried from many addresses', async () => {
    const token = randomToken();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await reset(token, `198.51.100.${i + 1}`)).status);
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
  });
});

describe('account security: confirmation rate limits', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({
      env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url, TRUST_PROXY: 'true', RATE_LIMIT_CONFIRM_IP: '10/60', RATE_LIMIT_CONFIRM_TOKEN: '5/60', FAILED_LOGIN_COST: '5' },
    });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const form = (token: string, headers: Record<string, string>) => ({
    raw: new URLSearchParams({ token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
  const landingOf = (response: TestResponse) => new URL(response.headers.get('location')!);
  const registeredLink = async (label: string) => {
    const email = uniqueEmail(label);
    await service.request('POST', '/auth/register', { body: { email, password: 'an honest password' } });
    return { email, link: linkStartingWith(await nextMailTo(smtp, email, 0), `${service.config.http.publicUrl}/auth/confirm?token=`) };
  };

  it('limits POST /auth/confirm per client IP, a made-up token costing no more than an honest request, then answers 429 with Retry-After', async () => {
    const ip = from('203.0.113.21');
    const statuses = [];
    let limited: TestResponse | undefined;
    for (let i = 0; i < 11; i++) {
      const response = await service.request('POST', '/auth/confirm', { body: { token: randomToken() }, headers: ip });
      statuses.push(response.status);
      limited = response;
    }
    expect(statuses).toEqual([...Array<number>(10).fill(400), 429]);
    expect(limited!.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', error: expect.stringMatching(/^Too many requests/), request_id: expect.any(String) });
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited!.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Another address is counted on its own.
    expect((await service.request('POST', '/auth/confirm', { body: { token: randomToken() }, headers: from('203.0.113.22') })).status).toBe(400);
  });

  it("lets no page lock its visitors' network out: made-up links and buttons from an address leave a person there confirming their own", async () => {
    // What a hostile page's images and auto-posted forms make a visitor's browser send.
    const shared = from('203.0.113.41');
    const forged = [];
    for (let i = 0; i < 15; i++) {
      forged.push(await service.request('GET', `/auth/confirm?token=${randomToken()}`, { headers: shared }));
      forged.push(await service.request('POST', '/auth/confirm-link', form(randomToken(), shared)));
    }
    expect(new Set(forged.map((response) => response.status))).toEqual(new Set([302, 303]));
    // The JSON route, limited per address, takes nothing a page can send without a CORS preflight.
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const simple = await service.request('POST', '/auth/confirm', { raw: JSON.stringify({ token: randomToken() }), headers: { 'content-type': contentType, ...shared } });
      expect(simple.status).toBe(415);
    }

    // Someone behind the same address opens their own link and presses its button.
    const { email, link } = await registeredLink('same-network');
    const confirmed = await clickConfirmationLink(service, link, shared);
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('http://dashboard.test/');
    expect((await login(service, email, 'an honest password')).user.email).toBe(email);
    // A program there has its whole per-address count: the page's requests spent none of it.
    const program = await service.request('POST', '/auth/confirm', { body: { token: new URL(link).searchParams.get('token') }, headers: shared });
    expect(program.status).toBe(200);
    expect(program.headers.get('ratelimit-remaining')).toBe('9');
  });

  it("refuses one link's page opened past its limit, from any address, and its button with it, with error_code=RATE_LIMITED", async () => {
    const { email, link } = await registeredLink('flooded-link');
    const opened = [];
    for (let i = 0; i < 6; i++) opened.push(await service.request('GET', pathOf(link), { headers: from(`198.51.100.${i + 31}`) }));
    expect(opened.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 302]);
    const limited = landingOf(opened[5]);
    expect(limited.origin + limited.pathname).toBe('http://dashboard.test/');
    expect(limited.searchParams.get('error_code')).toBe('RATE_LIMITED');
    expect(limited.searchParams.get('error')).toMatch(/^Too many requests, retry in \d+ s$/);
    expect(limited.searchParams.get('request_id')).toBe(opened[5].headers.get('x-request-id'));
    expect(Number(opened[5].headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(opened[5].headers.get('retry-after'))).toBeLessThanOrEqual(60);

    // The button spends the same token's count: the form's token is the link's.
    const button = await service.request('POST', '/auth/confirm-link', form(new URL(link).searchParams.get('token')!, from('198.51.100.40')));
    expect(button.status).toBe(303);
    expect(landingOf(button).searchParams.get('error_code')).toBe('RATE_LIMITED');
    expect(Number(button.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await service.request('POST', '/auth/login', { body: { email, password: 'an honest password' } })).body).toMatchObject({ statusCode: 403, code: 'EMAIL_NOT_VERIFIED' });

    // Another link, from an address that flooded, is counted on its own.
    const other = await registeredLink('unflooded-link');
    const confirmed = await clickConfirmationLink(service, other.link, from('198.51.100.31'));
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('http://dashboard.test/');
    expect(confirmed.headers.get('ratelimit-remaining')).toBe('3');
  });
});

describe('account security: mail limits', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;
  /** Mail requests one client address may make for one email in the window. */
  const PER_CLIENT = 5;
  /** Mails one address may be sent in the window, whoever asks. */
  const PER_ADDRESS = 10;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({
      env: {
        ...GENEROUS_RATE_LIMITS,
        SMTP_URL: smtp.url,
        TRUST_PROXY: 'true',
        LOG_FINGERPRINT_SECRET: LOG_SECRET,
        RATE_LIMIT_MAIL_IP: '1000/3600',
        RATE_LIMIT_MAIL_IP_EMAIL: `${PER_CLIENT}/3600`,
        RATE_LIMIT_MAIL_EMAIL: `${PER_ADDRESS}/3600`,
      },
    });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const forgot = (email: string, ip: string) => service.request('POST', '/auth/forgot-password', { body: { email }, headers: from(ip) });
  const ACCEPTED_FORGOT = { status: 200, body: { message: ACCOUNT_MESSAGES.resetRequested } };
  const answer = (response: TestResponse) => ({ status: response.status, body: response.body });
  /** The `mail_capped` lines logged since the log had `from` lines. */
  const cappedSince = (from: number) => service.logs.lines.slice(from).map((line) => JSON.parse(line)).filter((entry) => entry.event === 'mail_capped');
  /** Once every request for `email` is decided and every mail it made has reached the SMTP server: how many arrived. */
  const settledMailsTo = async (email: string) => {
    await waitUntil(async () => {
      const [row] = await sql<{ open: number }>(
        service,
        `SELECT (SELECT count(*) FROM account_requests WHERE lower(email) = lower(?))
              + (SELECT count(*) FROM registrations WHERE lower(email) = lower(?) AND processed_at IS NULL)
              + (SELECT count(*) FROM mail_outbox WHERE lower(recipient) = lower(?) AND status = 'pending') AS open`,
        [email, email, email],
      );
      return Number(row.open) === 0;
    }, `the requests for ${email} to be decided and their mails sent`);
    return smtp.mailsTo(email).length;
  };

  it("lets nobody have another person's requests refused, and caps the mails one inbox gets without saying so", async () => {
    const alice = uniqueEmail('alice');
    await createConfirmedUser(service, alice, 'the owner chose this');
    expect(await settledMailsTo(alice)).toBe(1);

    // An attacker's address spends its whole budget for alice's address: a registration, then resets.
    const attacker = '203.0.113.66';
    const registered = await service.request('POST', '/auth/register', { body: { email: alice, password: 'attacker chose this' }, headers: from(attacker) });
    expect(registered.status).toBe(201);
    for (let i = 1; i < PER_CLIENT; i++) expect([i, answer(await forgot(alice, attacker))]).toEqual([i, ACCEPTED_FORGOT]);
    // Its own next requests are refused, whatever the route.
    for (const limited of [
      await forgot(alice, attacker),
      await service.request('POST', '/auth/resend-confirmation', { body: { email: alice }, headers: from(attacker) }),
      await service.request('POST', '/auth/register', { body: { email: alice, password: 'attacker chose this' }, headers: from(attacker) }),
    ]) {
      expect(answer(limited)).toEqual({ status: 429, body: { statusCode: 429, code: 'RATE_LIMITED', error: expect.stringMatching(/^Too many requests/), request_id: expect.any(String) } });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    expect(await settledMailsTo(alice)).toBe(1 + PER_CLIENT);

    // The owner, from another address, is answered as always, with the whole budget of a client that never asked, and gets the mail.
    const owner = '198.51.100.10';
    const asked = await forgot(alice, owner);
    expect(answer(asked)).toEqual(ACCEPTED_FORGOT);
    expect(asked.headers.get('ratelimit-remaining')).toBe(String(PER_CLIENT - 1));
    expect(await settledMailsTo(alice)).toBe(1 + PER_CLIENT + 1);
    const ownersMail = smtp.mailsTo(alice)[PER_CLIENT + 1];
    expect(ownersMail.subject).toBe('Reset your Atiru password');

    // More attackers' addresses fill the inbox's share: accepted, mailed, up to the cap and no further.
    const others = ['203.0.113.67', '203.0.113.68'];
    for (let i = 0; i < PER_ADDRESS - (1 + PER_CLIENT + 1); i++) expect(answer(await forgot(alice, others[0]))).toEqual(ACCEPTED_FORGOT);
    expect(await settledMailsTo(alice)).toBe(PER_ADDRESS);
    const logged = service.logs.lines.length;
    for (let i = 0; i < 2; i++) expect(answer(await forgot(alice, others[1]))).toEqual(ACCEPTED_FORGOT);
    const again = await forgot(alice, owner);
    expect(answer(again)).toEqual(ACCEPTED_FORGOT);
    expect(again.headers.get('ratelimit-remaining')).toBe(String(PER_CLIENT - 2));
    expect(answer(await service.request('POST', '/auth/resend-confirmation', { body: { email: alice }, headers: from(others[1]) }))).toEqual({
      status: 200,
      body: { message: ACCOUNT_MESSAGES.confirmationResent },
    });
    const beyond = await service.request('POST', '/auth/register', { body: { email: alice, password: 'attacker chose this' }, headers: from(others[1]) });
    expect(answer(beyond)).toEqual({ status: 201, body: { message: ACCOUNT_MESSAGES.registered, user: { id: expect.any(String), email: alice } } });
    expect(await settledMailsTo(alice)).toBe(PER_ADDRESS);

    // Each request held back is logged at warn, the address as its domain and keyed hash only.
    const capped = cappedSince(logged);
    expect(capped.map((entry) => entry.request).sort()).toEqual(['forgot_password', 'forgot_password', 'forgot_password', 'register']);
    for (const entry of capped) expect(entry).toMatchObject({ level: 40, email_domain: 'example.com', email_hash: fingerprintOf(alice) });
    expect(JSON.stringify(capped)).not.toContain(alice);

    // The owner's mail works: the reset it asked for goes through.
    const reset = await service.request('POST', '/auth/reset-password', { body: { token: tokenOf(linkStartingWith(ownersMail, RESET_PREFIX)), password: 'the owner chose anew' } });
    expect(reset.status).toBe(200);
    expect((await login(service, alice, 'the owner chose anew')).user.email).toBe(alice);
  });

  it('caps, without regard to case, the mails of an account whose address is stored with capitals', async () => {
    // The API stores addresses in lower case; rows written by hand or before that rule need not be.
    const requested = uniqueEmail('capitals');
    const user = await signedInUser(service.app, requested);
    await sql(service, 'UPDATE users SET email = upper(email) WHERE id = ?', [user.id]);
    // Each registration of a confirmed address mails its owner, at the address as stored.
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      const registered = await service.request('POST', '/auth/register', { body: { email: requested, password: 'someone else chose this' }, headers: from(`192.0.2.${100 + i}`) });
      expect(registered.status).toBe(201);
    }
    expect(await settledMailsTo(requested)).toBe(PER_ADDRESS);
  });

  it("keeps one client's share of an inbox below its cap under all its names, so that a client cannot spend the owner's mail alone", async () => {
    const owner = uniqueEmail('share');
    await createConfirmedUser(service, owner, 'the owner chose this');
    expect(await settledMailsTo(owner)).toBe(1);
    // One client registers sub-address after sub-address of the owner's inbox: its budget is the inbox's, not each name's.
    const [local, domain] = owner.split('@');
    const names = Array.from({ length: PER_ADDRESS }, (_, i) => `${local}+r${i}@${domain}`);
    const statuses: number[] = [];
    for (const email of names) {
      statuses.push((await service.request('POST', '/auth/register', { body: { email, password: 'someone else chose this' }, headers: from('203.0.113.90') })).status);
    }
    expect(statuses).toEqual([...Array<number>(PER_CLIENT).fill(201), ...Array<number>(PER_ADDRESS - PER_CLIENT).fill(429)]);
    // So the owner's own request, from elsewhere, is still mailed.
    expect(answer(await forgot(owner, '198.51.100.90'))).toEqual(ACCEPTED_FORGOT);
    let delivered = await settledMailsTo(owner);
    for (const email of names) delivered += await settledMailsTo(email);
    expect(delivered).toBe(1 + PER_CLIENT + 1);
    expect(smtp.mailsTo(owner).at(-1)?.subject).toBe('Reset your Atiru password');
  });

  it('caps the mails of one inbox under all its names (sub-addresses), and still counts what an earlier release queued by its address', async () => {
    const [local, domain] = uniqueEmail('aliases').split('@');
    // Each registration of a new name mails a confirmation to it: one inbox under many names, each
    // asked for from a client address of its own, as a spread-out sender would.
    const names = Array.from({ length: PER_ADDRESS + 2 }, (_, i) => `${local}+n${i}@${domain}`);
    const logged = service.logs.lines.length;
    for (const [i, email] of names.entries()) {
      const registered = await service.request('POST', '/auth/register', { body: { email, password: 'someone else chose this' }, headers: from(`192.0.2.${150 + i}`) });
      expect(registered.status).toBe(201);
    }
    let delivered = 0;
    for (const email of names) delivered += await settledMailsTo(email);
    expect(delivered).toBe(PER_ADDRESS);
    expect(cappedSince(logged).map((entry) => entry.request)).toEqual(['register', 'register']);

    // Mails an earlier release queued have no inbox: they count by their address, without case.
    const older = uniqueEmail('older-release');
    for (let i = 0; i < PER_ADDRESS; i++) {
      await sql(service, `INSERT INTO mail_outbox (recipient, template, payload, status, sent_at) VALUES (?, 'confirm-email', '{"subject": "s", "text": "t"}', 'sent', now())`, [older.toUpperCase()]);
    }
    const before = service.logs.lines.length;
    expect((await service.request('POST', '/auth/register', { body: { email: older, password: 'someone else chose this' }, headers: from('192.0.2.170') })).status).toBe(201);
    expect(await settledMailsTo(older)).toBe(0);
    expect(cappedSince(before).map((entry) => entry.request)).toEqual(['register']);
  });
});

/** The "When:" line of a security notice, as epoch milliseconds. */
function noticeTime(text: string): number {
  const match = /When: (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC/.exec(text);
  if (!match) throw new Error(`no time in: ${text}`);
  return Date.parse(`${match[1]}T${match[2]}Z`);
}
