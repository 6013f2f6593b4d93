import { createHash } from 'node:crypto';
import { Browser } from 'playwright-core';
import { ApiKeyUsageRecorder, utcDay } from '../../src/api-keys/usage/api-key-usage.recorder';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, linkStartingWith, login, nextMailTo, sql, uniqueEmail } from '../support/accounts';
import { AxeViolation, focused, inspectPage, launchChromium, openDevice, pathOfPage, PHONE_AGENT, signInOnPage, tabTo } from '../support/dashboard';
import { freePort } from '../support/free-port';
import { TestSmtpServer } from '../support/smtp';
import { eventually, sleep } from '../support/wait';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

/**
 * The service as `npm start` runs it with no DASHBOARD_URL: it serves the dashboard at /dashboard/
 * and the mailed links land there. It listens on the port PUBLIC_URL names, so the links from the
 * mails open in the browser exactly as they were sent.
 */
async function startDashboardService(smtp: TestSmtpServer, env: Record<string, string> = {}): Promise<TestApp> {
  const port = await freePort();
  return startTestApp({ port, env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url, PUBLIC_URL: `http://127.0.0.1:${port}`, DASHBOARD_URL: undefined, ...env } });
}

function refreshCookie<T extends { name: string }>(cookies: T[]): T | undefined {
  return cookies.find((cookie) => cookie.name === 'atiru_refresh');
}

describe('the dashboard at /dashboard/, in a real Chromium against the real service, database and SMTP server', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;
  let browser: Browser;
  let base: string;
  const violations: AxeViolation[] = [];

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startDashboardService(smtp);
    base = service.baseUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await smtp?.stop();
  });

  it('signs up, confirms from the mail, signs in, creates a key that works from outside the browser, and revokes it', async () => {
    const { page, context, offOrigin, referers, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-journey');

    const served = await page.goto(`${base}/`);
    // Everything below runs under the pages' strict policy, and any violation is caught (cspViolations).
    const policy = (served?.headers()['content-security-policy'] ?? '').split(';').map((directive) => directive.trim());
    expect(policy).toEqual(expect.arrayContaining(["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]));
    await page.getByRole('heading', { name: 'Sign in to Atiru' }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/sign-in');
    violations.push(...(await inspectPage(page, 'sign-in')));

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    // The rules are on screen before anything is submitted, and tick off as they are met.
    const rules = page.locator('.rules li');
    expect(await rules.allInnerTexts()).toEqual(['At least 6 characters', 'At most 256 characters']);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    expect(await page.locator('.rules li.met').allInnerTexts()).toEqual(['At most 256 characters']);
    await page.getByLabel('Password').fill(PASSWORD);
    expect(await page.locator('.rules li.met').count()).toBe(2);
    violations.push(...(await inspectPage(page, 'sign-up')));
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/check-email');
    expect(await page.locator('main').innerText()).toContain(email);
    violations.push(...(await inspectPage(page, 'check-email')));

    const confirmation = await nextMailTo(smtp, email, 0);
    // The link opens a page that confirms nothing by itself (mail scanners open links); its button confirms.
    await page.goto(linkStartingWith(confirmation, `${base}/auth/confirm?token=`));
    await page.getByRole('heading', { name: 'Confirm your email' }).waitFor();
    expect(await page.locator('main').innerText()).toContain(email);
    // Its one inline style is allowed by its hash: the button is styled.
    expect(await page.evaluate("getComputedStyle(document.querySelector('button')).backgroundColor")).toBe('rgb(36, 86, 211)');
    violations.push(...(await inspectPage(page, 'confirm-link')));
    await page.getByRole('button', { name: 'Confirm my email' }).click();
    await page.getByRole('heading', { name: 'Your email is confirmed' }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/confirmed');
    violations.push(...(await inspectPage(page, 'confirmed')));

    await page.getByRole('link', { name: 'Sign in', exact: true }).last().click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    expect(await page.getByText('No keys yet').isVisible()).toBe(true);
    violations.push(...(await inspectPage(page, 'keys-empty')));

    await page.getByLabel('Name').fill('CI deploys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByLabel('API key', { exact: true });
    await shown.waitFor();
    const key = await shown.inputValue();
    expect(key).toMatch(/^atiru_[0-9A-Za-z]{38}$/);
    expect(await page.locator('.new-key').innerText()).toContain('it will not be shown again');
    expect(await page.locator('.new-key pre').innerText()).toBe(`curl -H "X-Api-Key: ${key}" ${base}/users/me`);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy key' }).click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(key);
    const row = page.locator('tbody tr', { hasText: 'CI deploys' });
    expect(await row.locator('td').allInnerTexts()).toEqual(['CI deploys', `${key.slice(0, 10)}…`, expect.any(String), 'Never', 'Never', 'Usage\nRevoke']);
    violations.push(...(await inspectPage(page, 'keys-created')));

    const outside = await fetch(`${base}/users/me`, { headers: { 'X-Api-Key': key } });
    expect(outside.status).toBe(200);
    expect(await outside.json()).toMatchObject({ email, email_confirmed_at: expect.any(String) });

    await row.getByRole('button', { name: 'Revoke CI deploys' }).click();
    // The first press only asks; nothing is revoked until it is confirmed.
    expect((await fetch(`${base}/users/me`, { headers: { 'X-Api-Key': key } })).status).toBe(200);
    violations.push(...(await inspectPage(page, 'keys-revoke-confirm')));
    await page.getByRole('button', { name: 'Revoke CI deploys now' }).click();
    await page.getByText('The key CI deploys is revoked').waitFor();
    // The message comes before the list is fetched and drawn again.
    await page.getByText('No keys yet').waitFor();

    const afterRevoke = await fetch(`${base}/users/me`, { headers: { 'X-Api-Key': key } });
    expect(afterRevoke.status).toBe(401);
    expect(((await afterRevoke.json()) as { code: string }).code).toBe('INVALID_OR_EXPIRED_TOKEN');

    expect({ offOrigin, referers, cspViolations }).toEqual({ offOrigin: [], referers: [], cspViolations: [] });
    await context.close();
  });

  it('keeps the person signed in across a reload with only an HttpOnly cookie, and leaves nothing behind after signing out', async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-reload');
    await createConfirmedUser(service, email, PASSWORD);
    await signInOnPage(page, base, email, PASSWORD);

    const cookie = refreshCookie(await context.cookies());
    expect(cookie).toMatchObject({ path: '/auth/refresh', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0]);
    expect(await page.evaluate('document.cookie')).toBe('');

    await page.reload();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/keys');
    await page.goto(`${base}/dashboard/account`);
    await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    expect(await page.locator('.facts').innerText()).toContain(email);
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0]);

    await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
    await page.getByText('You are signed out.').waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/sign-in');
    expect(refreshCookie(await context.cookies())).toBeUndefined();
    // The refresh token the cookie held is dead on the server too, not only gone from the browser.
    const replay = await fetch(`${base}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: cookie!.value }) });
    expect(replay.status).toBe(401);

    await page.goto(`${base}/dashboard/keys`);
    await page.getByRole('heading', { name: 'Sign in to Atiru' }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/sign-in');
    expect(await page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0]);
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('says so when a sign-out fails and keeps the person signed in, as they are until the service confirms it', async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-sign-out-fails');
    await createConfirmedUser(service, email, PASSWORD);
    await signInOnPage(page, base, email, PASSWORD);
    const alert = page.getByRole('alert');

    // The connection drops as the sign-out is sent: the service never hears it.
    await page.route('**/auth/logout**', (route) => route.abort());
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await alert.getByText('Sign-out failed').waitFor();
    expect(await alert.innerText()).toBe('Sign-out failed: you are still signed in. The service did not answer. Check your connection and try again.');
    expect(await page.getByText('You are signed out.').count()).toBe(0);
    expect(pathOfPage(page)).toBe('/dashboard/keys');
    violations.push(...(await inspectPage(page, 'sign-out-failed')));
    // It is true: the cookie still signs this browser in.
    await page.reload();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/keys');

    // The service busy, from the account page's own button: said there, and the page stays.
    await page.unroute('**/auth/logout**');
    await page.route('**/auth/logout**', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'Service busy', statusCode: 503, code: 'SERVER_BUSY' }) }));
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Sign out of this device' }).click();
    await alert.getByText('Sign-out failed').waitFor();
    expect(await alert.innerText()).toBe('Sign-out failed: you are still signed in. The service is busy right now. Try again in a moment.');
    expect(pathOfPage(page)).toBe('/dashboard/account');

    // An access token refused as expired, then no answer to the refresh: the session may be alive, so it is not "ended" either.
    await page.unroute('**/auth/logout**');
    await page.route('**/auth/logout**', (route) => route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'Invalid or expired token', statusCode: 401, code: 'INVALID_OR_EXPIRED_TOKEN' }) }));
    await page.route('**/auth/refresh', (route) => route.abort());
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await alert.getByText('Sign-out failed').waitFor();
    expect(await page.getByText('Your session has ended.').count()).toBe(0);
    expect(pathOfPage(page)).toBe('/dashboard/keys');

    // Once the service answers, the same button signs out, and a reload proves it.
    await page.unrouteAll();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out.').waitFor();
    expect(refreshCookie(await context.cookies())).toBeUndefined();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Atiru' }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/sign-in');
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('signs out every tab of the browser at once: the other tab leaves the account, and the key it showed once, by itself', async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-tabs');
    await createConfirmedUser(service, email, PASSWORD);
    await signInOnPage(page, base, email, PASSWORD);
    const other = await context.newPage();
    await other.goto(`${base}/dashboard/keys`);
    await other.getByLabel('Name').fill('Shown once');
    await other.getByRole('button', { name: 'Create key' }).click();
    await other.getByLabel('API key', { exact: true }).waitFor();

    const asked: string[] = [];
    other.on('request', (request) => {
      if (request.resourceType() === 'fetch') asked.push(request.url());
    });
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out.').waitFor();
    await other.getByText('You are signed out.').waitFor();
    expect(pathOfPage(other)).toBe('/dashboard/sign-in');
    expect(await other.getByLabel('API key', { exact: true }).count()).toBe(0);
    // Told by the tab that signed out, not by a refused call of its own.
    expect(asked).toEqual([]);
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('keeps two tabs that refresh at the same moment twice in a row signed in: they take turns, so neither is answered by a replay', async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-tab-race');
    await createConfirmedUser(service, email, PASSWORD);
    await signInOnPage(page, base, email, PASSWORD);
    const other = await context.newPage();
    await other.goto(`${base}/dashboard/keys`);
    await other.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();

    // A slow network: a refresh leaves with the cookie the browser holds as it is sent, and its
    // answer, with the cookie that answer sets, reaches the browser a second after the service gave
    // it. A tab that sends its refresh meanwhile sends the cookie just rotated.
    await context.route('**/auth/refresh', async (route) => {
      const request = route.request();
      const cookie = (await context.cookies(request.url())).map(({ name, value }) => `${name}=${value}`).join('; ');
      const answer = await fetch(request.url(), { method: request.method(), headers: { ...request.headers(), cookie }, body: request.postDataBuffer() });
      const body = Buffer.from(await answer.arrayBuffer());
      await sleep(1000);
      await route.fulfill({ status: answer.status, headers: Object.fromEntries(answer.headers), body });
    });

    const tabs = [page, other];
    for (const round of [1, 2]) {
      const refreshed = tabs.map((tab) => tab.waitForResponse((response) => response.url().endsWith('/auth/refresh')));
      // Both at once, as a browser restoring its tabs does.
      await Promise.all(tabs.map((tab) => tab.reload()));
      expect({ round, statuses: (await Promise.all(refreshed)).map((response) => response.status()) }).toEqual({ round, statuses: [200, 200] });
      for (const tab of tabs) await tab.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    }

    for (const tab of tabs) {
      await tab.getByRole('link', { name: 'Account' }).click();
      await tab.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
      expect(await tab.locator('.facts').innerText()).toContain(email);
    }
    const [session] = await sql(service, 'SELECT s.id, s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?', [email]);
    expect(session.revoked_at).toBeNull();
    const tokens = await sql<{ token_hash: string; retired_at: string | null; shared_at: string | null }>(service, 'SELECT token_hash, retired_at, shared_at FROM refresh_tokens WHERE session_id = ?', [session.id]);
    expect(tokens.filter((token) => token.shared_at !== null)).toEqual([]);
    // The answers' cookies were stored: the browser holds the session's live token.
    const held = createHash('sha256').update(refreshCookie(await context.cookies())!.value).digest('hex');
    expect(tokens.filter((token) => token.retired_at === null).map((token) => token.token_hash)).toEqual([held]);
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('ends another device from the sessions list; that device is refused at its next call and lands on sign-in', async () => {
    const email = uniqueEmail('dash-devices');
    await createConfirmedUser(service, email, PASSWORD);
    const laptop = await openDevice(browser, base);
    const phone = await openDevice(browser, base, PHONE_AGENT);
    const tablet = await openDevice(browser, base);
    await signInOnPage(laptop.page, base, email, PASSWORD);
    await signInOnPage(phone.page, base, email, PASSWORD);
    await signInOnPage(tablet.page, base, email, PASSWORD);
    const phoneTab = await phone.context.newPage();
    await phoneTab.goto(`${base}/dashboard/keys`);
    await phoneTab.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();

    await laptop.page.getByRole('link', { name: 'Account' }).click();
    await laptop.page.getByRole('heading', { name: 'Sessions' }).waitFor();
    const sessions = laptop.page.locator('.sessions li');
    expect(await sessions.count()).toBe(3);
    const current = laptop.page.locator('.sessions li.current');
    expect(await current.innerText()).toContain('This device');
    expect(await current.innerText()).toContain('Chrome on Linux');
    const phoneRow = sessions.filter({ hasText: 'Safari on iOS' });
    expect(await phoneRow.innerText()).toMatch(/IP 127\.0\.0\.1/);
    expect(await phoneRow.innerText()).toContain('Last active');
    violations.push(...(await inspectPage(laptop.page, 'account')));

    await phoneRow.getByRole('button', { name: /^Sign out Safari on iOS/ }).click();
    await laptop.page.getByText('Safari on iOS is signed out.').waitFor();
    // The message comes before the list is drawn again.
    expect(await eventually(() => sessions.count(), (count) => count === 2)).toBe(2);

    // The phone still shows its page; its next call is refused, one refresh from the cookie fails too, and it lands on sign-in.
    const refused = phone.page.waitForResponse((response) => response.url().endsWith('/users/me'));
    await phone.page.getByRole('link', { name: 'Account' }).click();
    expect((await refused).status()).toBe(401);
    await phone.page.getByText('Your session has ended. Sign in again.').waitFor();
    expect(pathOfPage(phone.page)).toBe('/dashboard/sign-in');
    // The phone's other tab is told by the first, without waiting for a call of its own.
    await phoneTab.getByText('Your session has ended. Sign in again.').waitFor();
    expect(pathOfPage(phoneTab)).toBe('/dashboard/sign-in');

    await laptop.page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await laptop.page.getByText('Every other session is signed out.').waitFor();
    expect(await eventually(() => sessions.count(), (count) => count === 1)).toBe(1);
    // Alone, there is nothing else to sign out.
    expect(await laptop.page.getByRole('button', { name: 'Sign out everywhere else' }).isVisible()).toBe(false);
    await tablet.page.reload();
    await tablet.page.getByRole('heading', { name: 'Sign in to Atiru' }).waitFor();
    expect(pathOfPage(tablet.page)).toBe('/dashboard/sign-in');

    await laptop.page.reload();
    await laptop.page.getByRole('heading', { name: 'Sessions' }).waitFor();
    expect(await sessions.count()).toBe(1);
    for (const device of [laptop, phone, tablet]) {
      expect(device.cspViolations).toEqual([]);
      await device.context.close();
    }
  });

  it('changes the password: the other device is signed out, a notice is mailed, and only the new password signs in', async () => {
    const email = uniqueEmail('dash-change');
    await createConfirmedUser(service, email, PASSWORD);
    const laptop = await openDevice(browser, base);
    const phone = await openDevice(browser, base, PHONE_AGENT);
    await signInOnPage(laptop.page, base, email, PASSWORD);
    await signInOnPage(phone.page, base, email, PASSWORD);
    const mailsBefore = smtp.mailsTo(email).length;

    await laptop.page.goto(`${base}/dashboard/account`);
    await laptop.page.getByLabel('Current password').fill('not the password');
    await laptop.page.getByLabel('New password').fill(NEW_PASSWORD);
    await laptop.page.getByRole('button', { name: 'Change password' }).click();
    await laptop.page.getByText('Your current password is not right.').waitFor();

    await laptop.page.getByLabel('Current password').fill(PASSWORD);
    await laptop.page.getByLabel('New password').fill(NEW_PASSWORD);
    await laptop.page.getByRole('button', { name: 'Change password' }).click();
    await laptop.page.getByText('Your password is changed.').waitFor();
    expect(await laptop.page.getByLabel('New password').inputValue()).toBe('');
    expect(await laptop.page.locator('.rules li.met').count()).toBe(0);
    // The message comes before the sessions list is drawn again without the signed-out phone.
    const laptopSessions = laptop.page.locator('.sessions li');
    expect(await eventually(() => laptopSessions.count(), (count) => count === 1)).toBe(1);
    violations.push(...(await inspectPage(laptop.page, 'account-password-changed')));
    const notice = await nextMailTo(smtp, email, mailsBefore);
    expect(notice.subject).toMatch(/password/i);

    await phone.page.reload();
    await phone.page.getByRole('heading', { name: 'Sign in to Atiru' }).waitFor();
    await phone.page.getByLabel('Email').fill(email);
    await phone.page.getByLabel('Password').fill(PASSWORD);
    await phone.page.getByRole('button', { name: 'Sign in' }).click();
    await phone.page.getByText('That email and password do not match an account.').waitFor();
    await signInOnPage(phone.page, base, email, NEW_PASSWORD);

    // The device that changed it stayed signed in.
    await laptop.page.reload();
    await laptop.page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    for (const device of [laptop, phone]) await device.context.close();
  });

  it('resets a forgotten password from the mailed link, with the token gone from the address bar and no Referer sent', async () => {
    const email = uniqueEmail('dash-reset');
    await createConfirmedUser(service, email, PASSWORD);
    const elsewhere = await login(service, email, PASSWORD);
    const { page, context, offOrigin, referers, cspViolations } = await openDevice(browser, base);
    const mailsBefore = smtp.mailsTo(email).length;

    await page.goto(`${base}/dashboard/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('we sent it a link to choose a new password').waitFor();
    violations.push(...(await inspectPage(page, 'forgot-password')));

    const mail = await nextMailTo(smtp, email, mailsBefore);
    const link = linkStartingWith(mail, `${base}/dashboard/reset-password?token=`);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(page.url()).toBe(`${base}/dashboard/reset-password`);
    expect(await page.evaluate('location.href')).not.toContain('token');
    violations.push(...(await inspectPage(page, 'reset-password')));

    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('Every session of your account was signed out, on every device.').waitFor();
    violations.push(...(await inspectPage(page, 'reset-password-done')));
    const me = await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${elsewhere.session.access_token}` } });
    expect(me.status).toBe(401);

    await page.getByRole('link', { name: 'Sign in', exact: true }).last().click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();

    // The same link again: spent.
    await page.goto(link);
    expect(page.url()).toBe(`${base}/dashboard/reset-password`);
    await page.getByLabel('New password').fill('yet another passphrase');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('This reset link has expired or was already used.').waitFor();

    expect({ offOrigin, referers, cspViolations }).toEqual({ offOrigin: [], referers: [], cspViolations: [] });
    await context.close();
  });

  it('removes the credential earlier versions of /docs left in localStorage on this origin', async () => {
    const { page, context } = await openDevice(browser, base);
    await page.goto(`${base}/dashboard/sign-in`);
    await page.evaluate(`localStorage.setItem('authorized', ${JSON.stringify(JSON.stringify({ api_key: { name: 'api_key', value: 'atiru_left_behind' } }))})`);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Atiru' }).waitFor();
    expect(await page.evaluate("localStorage.getItem('authorized')")).toBeNull();
    await context.close();
  });

  it('revokes the API keys with a reset only when the box is ticked, and says which on the page and in the notice', async () => {
    const email = uniqueEmail('dash-reset-keys');
    await createConfirmedUser(service, email, PASSWORD);
    const jwt = { authorization: `Bearer ${(await login(service, email, PASSWORD)).session.access_token}` };
    const created = await service.request('POST', '/auth/api-keys', { headers: jwt, body: { name: 'Nightly export' } });
    expect(created.status).toBe(201);
    const usingKey = () => fetch(`${base}/users/me`, { headers: { 'X-Api-Key': created.body.key } });
    const { page, context, cspViolations } = await openDevice(browser, base);
    const mailsAbout = (subject: string) => smtp.mailsTo(email).filter((mail) => mail.subject === subject);

    /** Asks for a link, opens it in the browser, sets `password` with the box as `tick` says; answers the notice mailed after. */
    async function resetOnPage(password: string, tick: boolean) {
      const links = mailsAbout('Reset your Atiru password').length;
      const notices = mailsAbout('Your Atiru password was changed').length;
      expect((await service.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
      await smtp.waitFor(() => mailsAbout('Reset your Atiru password').length > links);
      await page.goto(linkStartingWith(mailsAbout('Reset your Atiru password')[links], `${base}/dashboard/reset-password?token=`));
      const box = page.getByLabel('Also revoke all my API keys');
      expect(await box.isChecked()).toBe(false);
      if (tick) await box.check();
      await page.getByLabel('New password').fill(password);
      const sent = page.waitForRequest((request) => request.url().endsWith('/auth/reset-password'));
      await page.getByRole('button', { name: 'Set new password' }).click();
      // The field only when asked for: an instance of the previous release refuses a field it does not know.
      expect('revoke_api_keys' in (await sent).postDataJSON()).toBe(tick);
      await page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
      await smtp.waitFor(() => mailsAbout('Your Atiru password was changed').length > notices);
      return mailsAbout('Your Atiru password was changed')[notices];
    }

    const kept = await resetOnPage(NEW_PASSWORD, false);
    expect(await page.getByRole('status').innerText()).toBe(
      'Every session of your account was signed out, on every device. Your API keys still work: the email we sent says how many.',
    );
    expect(kept.text).toContain('1 API key of the account still works');
    expect((await usingKey()).status).toBe(200);

    const revoked = await resetOnPage('yet another passphrase', true);
    expect(await page.getByRole('status').innerText()).toBe('Every session of your account was signed out, on every device, and every API key was revoked.');
    violations.push(...(await inspectPage(page, 'reset-password-keys-revoked')));
    expect(revoked.text).toContain('As you asked, 1 API key of the account was revoked too, and stopped working at once.');
    const refused = await usingKey();
    expect({ status: refused.status, code: ((await refused.json()) as { code: string }).code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });

    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('says an address registered twice is confirmed without a password, and lets its owner choose one from the mailed link', async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-twice');
    await service.request('POST', '/auth/register', { body: { email, password: 'someone else chose this' } });
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
    await smtp.waitFor(() => smtp.mailsTo(email).length === 2);

    await page.goto(linkStartingWith(smtp.mailsTo(email)[1], `${base}/auth/confirm?token=`));
    await page.getByRole('button', { name: 'Confirm my email' }).click();
    await page.getByRole('heading', { name: 'Your email is confirmed' }).waitFor();
    expect(pathOfPage(page)).toBe('/dashboard/confirmed?choose_password=1');
    expect(await page.getByRole('status').innerText()).toBe(
      'Your address is confirmed. Because it was registered more than once, choose your password from the link we just sent.',
    );
    violations.push(...(await inspectPage(page, 'confirmed-choose-password')));

    const mail = await nextMailTo(smtp, email, 2);
    expect(mail.subject).toBe('Choose your Atiru password');
    await page.goto(linkStartingWith(mail, `${base}/dashboard/reset-password?token=`));
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('Every session of your account was signed out, on every device.').waitFor();
    expect((await service.request('POST', '/auth/login', { body: { email, password: PASSWORD } })).status).toBe(401);
    await login(service, email, NEW_PASSWORD);

    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('says what went wrong: a wrong password, an unconfirmed email (with a resend that mails again), an expired confirmation link', async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);

    const known = uniqueEmail('dash-wrong');
    await createConfirmedUser(service, known, PASSWORD);
    await page.goto(`${base}/dashboard/sign-in`);
    await page.getByLabel('Email').fill(known);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That email and password do not match an account.').waitFor();
    violations.push(...(await inspectPage(page, 'sign-in-wrong-password')));

    const unconfirmed = uniqueEmail('dash-unconfirmed');
    expect((await service.request('POST', '/auth/register', { body: { email: unconfirmed, password: PASSWORD } })).status).toBe(201);
    const first = await nextMailTo(smtp, unconfirmed, 0);
    await page.getByLabel('Email').fill(unconfirmed);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Confirm your email address first').waitFor();
    violations.push(...(await inspectPage(page, 'sign-in-unconfirmed')));
    await page.getByRole('button', { name: 'Send a new link' }).click();
    await page.getByText('A new confirmation link is on its way.').waitFor();
    const second = await nextMailTo(smtp, unconfirmed, 1);
    expect(second.subject).toBe(first.subject);
    const secondLink = linkStartingWith(second, `${base}/auth/confirm?token=`);
    expect(secondLink).not.toBe(linkStartingWith(first, `${base}/auth/confirm?token=`));

    // That link expires before it is opened.
    const token = new URL(secondLink).searchParams.get('token')!;
    await sql(service, `UPDATE one_time_tokens SET expires_at = now() - interval '1 minute' WHERE token_hash = ?`, [createHash('sha256').update(token).digest('hex')]);
    await page.goto(secondLink);
    await page.getByRole('heading', { name: 'This link did not work' }).waitFor();
    const landing = new URL(page.url());
    expect(landing.pathname).toBe('/dashboard/confirmed');
    expect(landing.searchParams.get('error_code')).toBe('INVALID_REQUEST');
    expect(await page.getByRole('alert').innerText()).toContain('expired or was already used');
    violations.push(...(await inspectPage(page, 'confirmed-error')));
    await page.getByLabel('Email').fill(unconfirmed);
    await page.getByRole('button', { name: 'Send a new link' }).click();
    await page.getByText('If that address is waiting for confirmation, a new link is on its way.').waitFor();
    const third = await nextMailTo(smtp, unconfirmed, 2);
    await page.goto(linkStartingWith(third, `${base}/auth/confirm?token=`));
    await page.getByRole('button', { name: 'Confirm my email' }).click();
    await page.getByRole('heading', { name: 'Your email is confirmed' }).waitFor();

    // An address nobody registered gets the same words, and no mail.
    const nobody = uniqueEmail('dash-nobody');
    await page.goto(`${base}/dashboard/confirmed?error=x&error_code=INVALID_REQUEST`);
    await page.getByLabel('Email').fill(nobody);
    await page.getByRole('button', { name: 'Send a new link' }).click();
    await page.getByText('If that address is waiting for confirmation, a new link is on its way.').waitFor();
    expect(smtp.mailsTo(nobody)).toEqual([]);

    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('works with the keyboard alone, with a visible focus ring: sign in, create a key, revoke it', async () => {
    const { page, context } = await openDevice(browser, base);
    const email = uniqueEmail('dash-keyboard');
    await createConfirmedUser(service, email, PASSWORD);
    await page.goto(`${base}/dashboard/sign-in`);

    expect(await tabTo(page, 'Skip to content')).toEqual({ name: 'Skip to content', ring: true });
    expect((await tabTo(page, 'Email')).ring).toBe(true);
    await page.keyboard.type(email);
    await tabTo(page, 'Password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();

    await tabTo(page, 'Name');
    await page.keyboard.type('Keyboard key');
    await page.keyboard.press('Enter');
    await page.getByLabel('API key', { exact: true }).waitFor();
    expect(await focused(page)).toMatchObject({ name: 'Your new key “Keyboard key”' });
    expect((await tabTo(page, 'Copy key')).ring).toBe(true);

    expect((await tabTo(page, 'Revoke Keyboard key')).ring).toBe(true);
    await page.keyboard.press('Enter');
    // The question takes the focus: the next Enter answers it.
    expect(await focused(page)).toEqual({ name: 'Revoke Keyboard key now', ring: true });
    await page.keyboard.press('Enter');
    await page.getByText('The key Keyboard key is revoked').waitFor();
    // The focus moves to the list once it is drawn again, after the message.
    expect((await eventually(() => focused(page), (now) => now.name === 'Your keys')).name).toBe('Your keys');
    await context.close();
  });

  it("shows a key's usage below the list: the last use's IP and user agent, and today's requests with totals", async () => {
    const { page, context, cspViolations } = await openDevice(browser, base);
    const email = uniqueEmail('dash-usage');
    await createConfirmedUser(service, email, PASSWORD);
    await signInOnPage(page, base, email, PASSWORD);
    await page.getByLabel('Name').fill('Nightly export');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByLabel('API key', { exact: true });
    await shown.waitFor();
    const key = await shown.inputValue();

    const agent = 'nightly-export/3.2 (dashboard usage test)';
    const today = utcDay(Date.now());
    for (let call = 0; call < 3; call += 1) expect((await fetch(`${base}/users/me`, { headers: { 'X-Api-Key': key, 'user-agent': agent } })).status).toBe(200);
    // What the recorder writes every API_KEY_LAST_USED_INTERVAL_SECONDS, written now rather than waited for.
    await service.app.get(ApiKeyUsageRecorder).flush();

    const opener = page.getByRole('button', { name: 'Usage of Nightly export' });
    expect(await opener.getAttribute('aria-expanded')).toBe('false');
    expect((await tabTo(page, 'Usage of Nightly export')).ring).toBe(true);
    await page.keyboard.press('Enter');
    const panel = page.getByRole('region', { name: 'Usage of Nightly export' });
    await panel.waitFor();
    expect(await focused(page)).toMatchObject({ name: 'Usage of Nightly export' });
    expect(await opener.getAttribute('aria-expanded')).toBe('true');
    const facts = await panel.locator('.facts').innerText();
    expect(facts).toContain(agent);
    expect(facts).toMatch(/IP\s+127\.0\.0\.1/);
    const rows = panel.locator('table tr');
    expect(await rows.allInnerTexts()).toEqual([expect.stringMatching(/^Day \(UTC\)\s+Succeeded\s+Refused$/i), `${today}\t3\t0`, 'Total\t3\t0']);
    violations.push(...(await inspectPage(page, 'keys-usage')));

    // The same button closes it.
    await opener.click();
    await panel.waitFor({ state: 'detached' });
    expect(await opener.getAttribute('aria-expanded')).toBe('false');
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('shows every page it visited with no serious or critical accessibility violation', () => {
    expect(violations).toEqual([]);
  });
});

describe('the dashboard when sign-in is rate limited', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    // Two failed logins (5 units each) use up the allowance for one address.
    service = await startDashboardService(smtp, { RATE_LIMIT_LOGIN_IP_EMAIL: '10/600' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await smtp?.stop();
  });

  it('tells the person how long to wait, from Retry-After', async () => {
    const { page, context } = await openDevice(browser, service.baseUrl);
    const email = uniqueEmail('dash-limited');
    await createConfirmedUser(service, email, PASSWORD);
    await page.goto(`${service.baseUrl}/dashboard/sign-in`);
    await page.getByLabel('Email').fill(email);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('That email and password do not match an account.').waitFor();
    }
    await page.getByLabel('Password').fill(PASSWORD);
    const limited = page.waitForResponse((response) => response.url().endsWith('/auth/login'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const response = await limited;
    expect(response.status()).toBe(429);
    const minutes = Math.ceil(Number(response.headers()['retry-after']) / 60);
    expect(minutes).toBeGreaterThan(1);
    await page.getByText(`Too many attempts. Try again in ${minutes} minutes.`).waitFor();
    const violations = await inspectPage(page, 'sign-in-rate-limited');
    expect(violations).toEqual([]);
    await context.close();
  });
});
