import { PasswordHasher } from '../../src/accounts/passwords/password.hasher';
import { UsersRepository } from '../../src/users/users.repository';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, nextMailTo, someoneWaitsOnALock, sql, uniqueEmail } from '../support/accounts';
import { TestSmtpServer } from '../support/smtp';
import { startTwoInstances, TwoInstances } from '../support/two-instances';
import { startTestApp, TestApp, TestResponse } from '../support/test-app';
import { waitUntil } from '../support/wait';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const REFUSED_TOKEN = { status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' };

interface Device {
  sid: string;
  access: Record<string, string>;
  refreshToken: string;
}

/**
 * The account page's operations: the sessions list, ending one session, changing the password.
 * Two instances on one PostgreSQL, so "ends on every instance" is seen, and a real SMTP server for
 * the notice mail.
 */
describe('sessions list, ending a session, changing the password (two instances, real PostgreSQL, real SMTP)', () => {
  let smtp: TestSmtpServer;
  let first: TestApp;
  let second: TestApp;

  let instances: TwoInstances | undefined;

  beforeAll(async () => {
    instances = await startTwoInstances({ ...GENEROUS_RATE_LIMITS, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' });
    ({ smtp, first, second } = instances);
  });

  afterAll(async () => {
    await instances?.close();
  });

  async function signIn(email: string, userAgent: string, password = PASSWORD): Promise<Device> {
    const { session } = await login(first, email, password, { 'user-agent': userAgent });
    const sid = JSON.parse(Buffer.from(session.access_token.split('.')[1], 'base64url').toString()).sid as string;
    return { sid, access: { authorization: `Bearer ${session.access_token}` }, refreshToken: session.refresh_token };
  }

  const me = (service: TestApp, device: Device) => service.request('GET', '/users/me', { headers: device.access });
  const refresh = (device: Device) => first.request('POST', '/auth/refresh', { body: { refresh_token: device.refreshToken } });
  const listSessions = (device: Device) => first.request('GET', '/auth/sessions', { headers: device.access });
  const outcome = (response: { status: number; body: { code?: string } }) => ({ status: response.status, code: response.body?.code });

  /** Both instances have admitted the token, so each would answer it from memory until told otherwise. */
  async function seenOnBoth(device: Device): Promise<void> {
    for (const service of [first, second]) expect((await me(service, device)).status).toBe(200);
  }

  async function expectSignedOut(device: Device): Promise<void> {
    for (const service of [first, second]) expect(outcome(await me(service, device))).toEqual(REFUSED_TOKEN);
    expect(outcome(await refresh(device))).toEqual(REFUSED_TOKEN);
  }

  async function newAccount(label: string): Promise<string> {
    const email = uniqueEmail(label);
    await createConfirmedUser(first, email, PASSWORD);
    return email;
  }

  it('lists the live sessions with device, address and activity, most recently active first, the caller\'s marked current', async () => {
    const email = await newAccount('list');
    const laptop = await signIn(email, 'Laptop/1.0');
    const phone = await signIn(email, 'Phone/2.0');
    const ended = await signIn(email, 'Old/0.1');
    expect((await first.request('POST', '/auth/logout', { headers: ended.access })).status).toBe(204);
    // The laptop refreshes: its last activity is now the newest.
    expect((await refresh(laptop)).status).toBe(200);

    const response = await listSessions(phone);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      sessions: [
        { id: laptop.sid, created_at: expect.stringMatching(ISO), last_active_at: expect.stringMatching(ISO), user_agent: 'Laptop/1.0', ip: '127.0.0.1', current: false },
        { id: phone.sid, created_at: expect.stringMatching(ISO), last_active_at: expect.stringMatching(ISO), user_agent: 'Phone/2.0', ip: '127.0.0.1', current: true },
      ],
    });
    const [laptopRow, phoneRow] = response.body.sessions;
    expect(Date.parse(laptopRow.last_active_at)).toBeGreaterThan(Date.parse(laptopRow.created_at));
    expect(phoneRow.last_active_at).toBe(phoneRow.created_at);

    // The same list from the other device differs only in which one is current.
    const fromLaptop = await listSessions(laptop);
    expect(fromLaptop.body.sessions.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([
      [laptop.sid, true],
      [phone.sid, false],
    ]);
  });

  it('ending another session signs that device out on every instance: its access token and its refresh token answer 401', async () => {
    const email = await newAccount('end');
    const mine = await signIn(email, 'Mine/1.0');
    const other = await signIn(email, 'Other/1.0');
    await seenOnBoth(other);

    const ended = await first.request('DELETE', `/auth/sessions/${other.sid}`, { headers: mine.access });
    expect([ended.status, ended.text]).toEqual([204, '']);
    await expectSignedOut(other);
    await seenOnBoth(mine);
    expect((await listSessions(mine)).body.sessions.map((s: { id: string }) => s.id)).toEqual([mine.sid]);
    const [row] = await sql(first, 'SELECT revoked_reason FROM sessions WHERE id = ?', [other.sid]);
    expect(row.revoked_reason).toBe('logout');

    // Ended already: nothing left to end.
    expect(outcome(await first.request('DELETE', `/auth/sessions/${other.sid}`, { headers: mine.access }))).toEqual({ status: 404, code: 'NOT_FOUND' });
  });

  it('answers 404 for a session that expired, as the list no longer shows it, and records no sign-out of it', async () => {
    const email = await newAccount('expired');
    const mine = await signIn(email, 'Mine/1.0');
    const lapsed = await signIn(email, 'Lapsed/1.0');
    await sql(first, "UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = ?", [lapsed.sid]);
    expect((await listSessions(mine)).body.sessions.map((s: { id: string }) => s.id)).toEqual([mine.sid]);

    expect(outcome(await first.request('DELETE', `/auth/sessions/${lapsed.sid}`, { headers: mine.access }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    const [row] = await sql(first, 'SELECT revoked_at FROM sessions WHERE id = ?', [lapsed.sid]);
    expect(row.revoked_at).toBeNull();
  });

  it("answers 404 for another user's session and for an unknown id, and leaves the other user's session alive", async () => {
    const mine = await signIn(await newAccount('owner'), 'Mine/1.0');
    const theirs = await signIn(await newAccount('stranger'), 'Theirs/1.0');

    const foreign = await first.request('DELETE', `/auth/sessions/${theirs.sid}`, { headers: mine.access });
    expect(foreign.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', error: 'Session not found', request_id: expect.any(String) });
    expect(outcome(await first.request('DELETE', '/auth/sessions/00000000-0000-4000-8000-000000000000', { headers: mine.access }))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(outcome(await first.request('DELETE', '/auth/sessions/not-a-uuid', { headers: mine.access }))).toEqual({ status: 400, code: 'INVALID_REQUEST' });
    await seenOnBoth(theirs);
    expect((await refresh(theirs)).status).toBe(200);
    // Nor does a list show another user's sessions.
    expect((await listSessions(mine)).body.sessions.map((s: { id: string }) => s.id)).toEqual([mine.sid]);
  });

  it('takes a session JWT only: an API key cannot list or end sessions, nor change the password', async () => {
    const mine = await signIn(await newAccount('key'), 'Mine/1.0');
    const key = (await first.request('POST', '/auth/api-keys', { headers: mine.access, body: { name: 'script' } })).body.key as string;
    const withKey = { 'x-api-key': key };
    expect(outcome(await first.request('GET', '/auth/sessions', { headers: withKey }))).toEqual({ status: 403, code: 'JWT_REQUIRED' });
    expect(outcome(await first.request('DELETE', `/auth/sessions/${mine.sid}`, { headers: withKey }))).toEqual({ status: 403, code: 'JWT_REQUIRED' });
    expect(outcome(await first.request('POST', '/auth/password', { headers: withKey, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } }))).toEqual({
      status: 403,
      code: 'JWT_REQUIRED',
    });
    expect(outcome(await first.request('GET', '/auth/sessions'))).toEqual({ status: 401, code: 'MISSING_AUTH' });
  });

  it('changing the password: a wrong current one is 401; then every other session is signed out, this one stays, the new password works, the old does not, and the owner is told', async () => {
    const email = await newAccount('change');
    // The registration's confirmation mail comes first.
    await nextMailTo(smtp, email, 0);
    const mine = await signIn(email, 'Mine/1.0');
    const others = [await signIn(email, 'Other/1.0'), await signIn(email, 'Other/2.0')];
    for (const device of [mine, ...others]) await seenOnBoth(device);

    const wrong = await first.request('POST', '/auth/password', { headers: mine.access, body: { current_password: `${PASSWORD}!`, new_password: NEW_PASSWORD } });
    expect(wrong.body).toEqual({ statusCode: 401, code: 'INVALID_CREDENTIALS', error: 'The current password is wrong', request_id: expect.any(String) });
    const short = await first.request('POST', '/auth/password', { headers: mine.access, body: { current_password: PASSWORD, new_password: 'short' } });
    expect([short.status, short.body.code, short.body.errors?.[0]?.field]).toEqual([400, 'INVALID_REQUEST', 'new_password']);
    // Neither changed anything.
    for (const device of others) await seenOnBoth(device);

    const changed = await first.request('POST', '/auth/password', {
      headers: { ...mine.access, 'user-agent': 'Mine/1.0' },
      body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect([changed.status, changed.text]).toEqual([204, '']);

    for (const device of others) await expectSignedOut(device);
    await seenOnBoth(mine);
    expect((await refresh(mine)).status).toBe(200);
    expect((await listSessions(mine)).body.sessions.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([[mine.sid, true]]);
    const reasons = await sql(first, 'SELECT revoked_reason FROM sessions WHERE id IN (?, ?) ORDER BY revoked_reason', [others[0].sid, others[1].sid]);
    expect(reasons).toEqual([{ revoked_reason: 'password_change' }, { revoked_reason: 'password_change' }]);

    expect((await first.request('POST', '/auth/login', { body: { email, password: NEW_PASSWORD } })).status).toBe(200);
    expect(outcome(await first.request('POST', '/auth/login', { body: { email, password: PASSWORD } }))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });

    const notice = await nextMailTo(smtp, email, 1);
    expect(notice.subject).toBe('Your Atiru password was changed');
    expect(notice.text).toContain('changed from one of its sessions, and every other session was logged out.');
    expect(notice.text).toMatch(/IP address: 127\.0\.0\.1\nBrowser or app: Mine\/1\.0/);
    expect(smtp.mailsTo(email)).toHaveLength(2);
  });

  /** Asks for a reset link, as the owner does, and answers the token of the mail that brings it. */
  async function askForReset(email: string): Promise<string> {
    const before = smtp.mailsTo(email).length;
    expect((await first.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    const isReset = (mail: { subject: string }) => mail.subject === 'Reset your Atiru password';
    await smtp.waitFor(() => smtp.mailsTo(email).slice(before).some(isReset));
    const mail = smtp.mailsTo(email).slice(before).find(isReset)!;
    return new URL(mail.links.find((link) => link.includes('token='))!).searchParams.get('token')!;
  }

  /** A reset through the mailed link, as the owner does it: every session of the account is revoked. */
  async function resetByMail(email: string, password: string): Promise<void> {
    const token = await askForReset(email);
    expect((await first.request('POST', '/auth/reset-password', { body: { token, password } })).status).toBe(200);
  }

  /** Runs `meanwhile` while the next password check on `service` is under way, once the password is verified. */
  function duringNextPasswordCheck(service: TestApp, meanwhile: () => Promise<void>): jest.SpyInstance {
    const hasher = service.app.get(PasswordHasher);
    const verify = hasher.verify.bind(hasher);
    return jest.spyOn(hasher, 'verify').mockImplementationOnce(async (hash, password) => {
      const matches = await verify(hash, password);
      await meanwhile();
      return matches;
    });
  }

  it('opens no session for a login whose password was reset while it was being checked', async () => {
    const email = await newAccount('login-race');
    const spy = duringNextPasswordCheck(first, () => resetByMail(email, NEW_PASSWORD));
    try {
      // The attacker's login with the old password is verified, then the owner's reset commits, then the login would open its session.
      const raced = await first.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
      expect(outcome(raced)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    } finally {
      spy.mockRestore();
    }
    expect(await sql(first, 'SELECT count(*)::int AS live FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ? AND s.revoked_at IS NULL', [email])).toEqual([{ live: 0 }]);
    expect(outcome(await first.request('POST', '/auth/login', { body: { email, password: PASSWORD } }))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    await signIn(email, 'Owner/1.0', NEW_PASSWORD);
  });

  it('does not let a password change undo a reset that committed while the change was checking the current password', async () => {
    const email = await newAccount('change-race');
    const thief = await signIn(email, 'Thief/1.0');
    const spy = duringNextPasswordCheck(first, () => resetByMail(email, NEW_PASSWORD));
    try {
      const raced = await first.request('POST', '/auth/password', { headers: thief.access, body: { current_password: PASSWORD, new_password: 'the thief chose this' } });
      expect(raced.status).toBe(401);
    } finally {
      spy.mockRestore();
    }
    expect(outcome(await first.request('POST', '/auth/login', { body: { email, password: 'the thief chose this' } }))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    await expectSignedOut(thief);
    await signIn(email, 'Owner/1.0', NEW_PASSWORD);
  });

  it('does not change the password from a session ended while the change was checking the current password', async () => {
    const email = await newAccount('change-ended');
    const owner = await signIn(email, 'Owner/1.0');
    const thief = await signIn(email, 'Thief/1.0');
    const spy = duringNextPasswordCheck(first, async () => {
      expect((await first.request('DELETE', `/auth/sessions/${thief.sid}`, { headers: owner.access })).status).toBe(204);
    });
    try {
      const raced = await first.request('POST', '/auth/password', { headers: thief.access, body: { current_password: PASSWORD, new_password: 'the thief chose this' } });
      expect(outcome(raced)).toEqual(REFUSED_TOKEN);
    } finally {
      spy.mockRestore();
    }
    await signIn(email, 'Owner/2.0', PASSWORD);
  });

  it('lets a reset and a password change that meet in the database both finish, the reset last, rather than deadlock', async () => {
    const email = await newAccount('reset-meets-change');
    const thief = await signIn(email, 'Thief/1.0');
    const token = await askForReset(email);

    const users = first.app.get(UsersRepository);
    const findById = users.findById.bind(users);
    let change: Promise<TestResponse> | undefined;
    let changed: TestResponse | undefined;
    // Inside the reset's transaction, its token locked and the user's row not yet: the thief's
    // change runs now, takes the user's row and spends the outstanding reset links.
    const spy = jest.spyOn(users, 'findById').mockImplementationOnce(async (id, em) => {
      change = first.request('POST', '/auth/password', { headers: thief.access, body: { current_password: PASSWORD, new_password: 'the thief chose this' } });
      void change.then((response) => (changed = response));
      await waitUntil(async () => changed !== undefined || (await someoneWaitsOnALock(first)), 'the change to finish or to wait on a lock');
      return findById(id, em);
    });
    try {
      const reset = await first.request('POST', '/auth/reset-password', { body: { token, password: NEW_PASSWORD } });
      expect({ reset: reset.status, change: (await change!).status }).toEqual({ reset: 200, change: 204 });
    } finally {
      spy.mockRestore();
    }
    // The reset came last: its password stands, and every session, the thief's too, is over.
    expect(outcome(await first.request('POST', '/auth/login', { body: { email, password: 'the thief chose this' } }))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    await expectSignedOut(thief);
    await signIn(email, 'Owner/1.0', NEW_PASSWORD);
  });

  it('changing the password spends reset links asked for before it', async () => {
    const email = await newAccount('reset-spent');
    const mine = await signIn(email, 'Mine/1.0');
    const token = await askForReset(email);

    expect((await first.request('POST', '/auth/password', { headers: mine.access, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })).status).toBe(204);
    expect(outcome(await first.request('POST', '/auth/reset-password', { body: { token, password: 'yet another passphrase' } }))).toEqual({ status: 400, code: 'INVALID_REQUEST' });
    expect((await first.request('POST', '/auth/login', { body: { email, password: NEW_PASSWORD } })).status).toBe(200);
  });
});

describe('changing the password: wrong current passwords count against the login limits of the account', () => {
  let service: TestApp;

  beforeAll(async () => {
    // Two failures (5 units each) fill the per-account window.
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, RATE_LIMIT_LOGIN_IP_EMAIL: '10/60', FAILED_LOGIN_COST: '5' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers 429 with Retry-After after the limit, to this operation and to a login of the same account', async () => {
    const email = uniqueEmail('limited');
    await createConfirmedUser(service, email, PASSWORD);
    const { session } = await login(service, email, PASSWORD);
    const headers = { authorization: `Bearer ${session.access_token}` };
    const change = (current: string) => service.request('POST', '/auth/password', { headers, body: { current_password: current, new_password: NEW_PASSWORD } });

    // The login above spent 1 unit; the first failure brings the window to 6, the second to 11.
    expect((await change('wrong one')).status).toBe(401);
    expect((await change('wrong two')).status).toBe(401);
    const limited = await change(PASSWORD);
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const loginLimited = await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect([loginLimited.status, loginLimited.body.code]).toEqual([429, 'RATE_LIMITED']);
    // Another account from the same address is not affected.
    const otherEmail = uniqueEmail('unaffected');
    await createConfirmedUser(service, otherEmail, PASSWORD);
    expect((await service.request('POST', '/auth/login', { body: { email: otherEmail, password: PASSWORD } })).status).toBe(200);
  });
});
