import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCOUNT_MESSAGES } from '../../src/accounts/accounts.service';
import { clickConfirmationLink, createConfirmedUser, GENEROUS_RATE_LIMITS, linkStartingWith, login, nextMailTo, uniqueEmail } from '../support/accounts';
import { TestSmtpServer } from '../support/smtp';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';
const CSP = "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';frame-ancestors 'none';base-uri 'none';form-action 'self';object-src 'none'";
const INDEX = '<!doctype html><html><head><script type="module" src="/dashboard/assets/index-Ab12Cd.js"></script></head><body><main id="app"></main></body></html>\n';
const SCRIPT = 'document.getElementById("app").textContent = "hello";\n';

/** A tiny stand-in for Vite's output: the page, a hashed asset, an unhashed file and a dotfile. */
async function fakeBuild(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atiru-dashboard-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'assets', 'index-Ab12Cd.js'), SCRIPT);
  await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(dir, '.env'), 'SECRET=do-not-serve');
  return dir;
}

const raw = (service: TestApp, path: string) => fetch(service.baseUrl + path, { redirect: 'manual' });

describe('the built-in dashboard: served at /dashboard/, and where mailed links land (DASHBOARD_URL unset)', () => {
  let service: TestApp;
  let smtp: TestSmtpServer;
  let dir: string;
  let dashboard: string;

  beforeAll(async () => {
    dir = await fakeBuild();
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, DASHBOARD_URL: '', DASHBOARD_DIR: dir, SMTP_URL: smtp.url } });
    dashboard = `${service.config.http.publicUrl}/dashboard/`;
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the page with the strict content security policy, no Referer, no framing, revalidated on every load', async () => {
    const response = await raw(service, '/dashboard/');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(INDEX);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toBe(CSP);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers every client route (a path without a file extension) with the page, query and all', async () => {
    for (const path of ['/dashboard/sign-in', '/dashboard/keys', '/dashboard/reset-password?token=abc', '/dashboard/confirmed?error=x&error_code=INVALID_REQUEST', '/dashboard/a/b/c']) {
      const response = await raw(service, path);
      expect([path, response.status, await response.text()]).toEqual([path, 200, INDEX]);
      expect(response.headers.get('content-security-policy')).toBe(CSP);
    }
  });

  it('serves the built files, hashed assets cached for good, under the same policy', async () => {
    const script = await raw(service, '/dashboard/assets/index-Ab12Cd.js');
    expect([script.status, await script.text()]).toEqual([200, SCRIPT]);
    expect(script.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-security-policy')).toBe(CSP);
    // Caches keep it, and its CORS headers depend on the Origin: one copy per origin.
    expect(script.headers.get('vary')).toBe('Origin');
    const icon = await raw(service, '/dashboard/favicon.svg');
    expect([icon.status, icon.headers.get('content-type'), icon.headers.get('cache-control')]).toEqual([200, 'image/svg+xml', 'public, max-age=0']);
  });

  it('answers 404 for a missing file, and never serves a dotfile or anything outside the build', async () => {
    const paths = ['/dashboard/assets/missing-123.js', '/dashboard/.env', '/dashboard/assets/..%2f.env', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/..%2f..%2fpackage.json', '/dashboard/a%00.js'];
    for (const path of paths) {
      const response = await raw(service, path);
      const text = await response.text();
      expect([path, response.status, JSON.parse(text).code]).toEqual([path, 404, 'NOT_FOUND']);
      expect(text).not.toContain('do-not-serve');
      expect(text).not.toContain('"name": "atiru-auth"');
    }
  });

  it('leads GET / and GET /dashboard to the dashboard', async () => {
    for (const path of ['/', '/dashboard']) {
      const response = await raw(service, path);
      expect([path, response.status, response.headers.get('location')]).toEqual([path, 302, '/dashboard/']);
    }
  });

  it('says how to build the dashboard when there is no build, and the API goes on', async () => {
    await rename(join(dir, 'index.html'), join(dir, 'index.html.away'));
    try {
      const response = await raw(service, '/dashboard/sign-in');
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('npm run build');
      expect((await service.request('GET', '/health')).status).toBe(200);
    } finally {
      await rename(join(dir, 'index.html.away'), join(dir, 'index.html'));
    }
    expect((await raw(service, '/dashboard/sign-in')).status).toBe(200);
  });

  it('keeps the API responses as they were: their own policy that allows nothing, and no-store', async () => {
    const response = await service.request('GET', '/health');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('lands the confirmation link on /dashboard/confirmed, and a bad or missing token there with the error', async () => {
    const email = uniqueEmail('landing');
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
    const link = linkStartingWith(await nextMailTo(smtp, email, 0), `${service.config.http.publicUrl}/auth/confirm?token=`);
    const opened = await clickConfirmationLink(service, link);
    expect([opened.status, opened.headers.get('location')]).toEqual([303, `${dashboard}confirmed`]);
    await login(service, email, PASSWORD);

    const bad = new URL((await service.request('GET', `/auth/confirm?token=${'A'.repeat(43)}`)).headers.get('location')!);
    expect(bad.origin + bad.pathname).toBe(`${dashboard}confirmed`);
    expect(Object.fromEntries(bad.searchParams)).toEqual({ error: ACCOUNT_MESSAGES.invalidConfirmation, error_code: 'INVALID_REQUEST' });
    const missing = new URL((await service.request('GET', '/auth/confirm')).headers.get('location')!);
    expect(missing.origin + missing.pathname).toBe(`${dashboard}confirmed`);
    expect(missing.searchParams.get('error_code')).toBe('INVALID_REQUEST');
  });

  it('lands the password reset link on /dashboard/reset-password?token=…, and the notice after it on the dashboard', async () => {
    const email = uniqueEmail('reset-landing');
    await createConfirmedUser(service, email, PASSWORD);
    await nextMailTo(smtp, email, 0);
    expect((await service.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    const link = linkStartingWith(await nextMailTo(smtp, email, 1), `${dashboard}reset-password?token=`);
    const token = new URL(link).searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await service.request('POST', '/auth/reset-password', { body: { token, password: 'a brand new passphrase' } })).status).toBe(200);
    const notice = await nextMailTo(smtp, email, 2);
    expect(notice.subject).toBe('Your Atiru password was changed');
    expect(notice.links).toEqual([dashboard]);
  });

  it('points the "someone tried to register" mail at the sign-in and reset pages', async () => {
    const email = uniqueEmail('again');
    await createConfirmedUser(service, email, PASSWORD);
    await nextMailTo(smtp, email, 0);
    expect((await service.request('POST', '/auth/register', { body: { email, password: 'someone else entirely' } })).status).toBe(201);
    const notice = await nextMailTo(smtp, email, 1);
    expect(notice.subject).toBe('Someone tried to sign up with your email');
    expect(notice.links).toEqual([`${dashboard}sign-in`, expect.stringMatching(new RegExp(`^${dashboard}reset-password\\?token=[A-Za-z0-9_-]{43}$`))]);
  });
});

describe('mailed links with DASHBOARD_URL set land there, as before', () => {
  let service: TestApp;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, DASHBOARD_URL: 'https://app.atiru.test/console', REDIRECT_ALLOW_LIST: 'https://*.atiru.test', SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    await service?.close();
    await smtp?.stop();
  });

  it('lands confirmation, its errors and the reset link on DASHBOARD_URL itself, and a redirect_to still wins', async () => {
    const email = uniqueEmail('external');
    await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } });
    const link = linkStartingWith(await nextMailTo(smtp, email, 0), `${service.config.http.publicUrl}/auth/confirm?token=`);
    expect((await clickConfirmationLink(service, link)).headers.get('location')).toBe('https://app.atiru.test/console');
    const bad = new URL((await service.request('GET', `/auth/confirm?token=${'A'.repeat(43)}`)).headers.get('location')!);
    expect(bad.origin + bad.pathname).toBe('https://app.atiru.test/console');
    expect(bad.searchParams.get('error_code')).toBe('INVALID_REQUEST');

    expect((await service.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    expect(linkStartingWith(await nextMailTo(smtp, email, 1), 'https://app.atiru.test/console?token=')).toMatch(/\?token=[A-Za-z0-9_-]{43}$/);
    expect((await service.request('POST', '/auth/forgot-password', { body: { email, redirect_to: 'https://eu.atiru.test/reset' } })).status).toBe(200);
    expect(linkStartingWith(await nextMailTo(smtp, email, 2), 'https://eu.atiru.test/reset?token=')).toMatch(/\?token=[A-Za-z0-9_-]{43}$/);
  });
});
