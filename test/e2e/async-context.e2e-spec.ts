import { AsyncLocalStorage } from 'node:async_hooks';
import { SigningKeysService } from '../../src/auth/keys/signing-keys.service';
import { clickConfirmationLink, GENEROUS_RATE_LIMITS, linkStartingWith, login, nextMailTo, uniqueEmail } from '../support/accounts';
import { TestSmtpServer } from '../support/smtp';
import { startTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'correct horse battery';

/**
 * The service enters one AsyncLocalStorage, the request context that names a request on its log
 * lines (src/common/logging/request-context.ts). Each further entry per request costs every
 * promise more on Node before 24 (docs/decisions/003-async-local-storage.md), and MikroORM's flush
 * and em.transactional enter one: this walks every kind of write and checks that nothing else
 * enters one. (ESLint forbids the known ways in; this catches the unknown ones, e.g. in a dependency.)
 */
describe('no AsyncLocalStorage in the service but the request context (real app, real PostgreSQL, real SMTP server)', () => {
  let smtp: TestSmtpServer;
  let service: TestApp;
  const entered: string[] = [];
  let enteredRequestContext = 0;
  const spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    for (const method of ['run', 'enterWith'] as const) {
      const original = AsyncLocalStorage.prototype[method] as (...args: unknown[]) => unknown;
      spies.push(
        jest.spyOn(AsyncLocalStorage.prototype, method).mockImplementation(function (this: AsyncLocalStorage<unknown>, ...args: unknown[]) {
          const stack = new Error(`AsyncLocalStorage#${method}`).stack ?? method;
          // Jest runs each test inside its own context; that one is the harness's, not the service's.
          const caller = stack.split('\n').find((line) => line.includes(' at ') && !line.includes('jest-mock') && !line.includes(__filename));
          // On Node 24, run() enters through enterWith(): that run() was seen already.
          if (caller?.includes('node:internal/async_local_storage')) return original.apply(this, args);
          const ours = stack.includes('request-context');
          if (!caller?.includes('jest-circus') && !ours) entered.push(stack);
          if (ours) enteredRequestContext++;
          return original.apply(this, args);
        } as never),
      );
    }
    smtp = await new TestSmtpServer().start();
    service = await startTestApp({ env: { ...GENEROUS_RATE_LIMITS, SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    for (const spy of spies) spy.mockRestore();
    await service?.close();
    await smtp?.stop();
  });

  it('enters no other while starting, registering, confirming, logging in, refreshing, using and revoking keys, resetting and rotating', async () => {
    const email = uniqueEmail('hooks');
    expect((await service.request('POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
    const confirmation = await nextMailTo(smtp, email, 0);
    const confirmed = await clickConfirmationLink(service, linkStartingWith(confirmation, `${service.config.http.publicUrl}/auth/confirm?token=`));
    expect(confirmed.status).toBe(303);

    const { session } = await login(service, email, PASSWORD);
    const jwt = { authorization: `Bearer ${session.access_token}` };
    const refreshed = await service.request('POST', '/auth/refresh', { body: { refresh_token: session.refresh_token } });
    expect(refreshed.status).toBe(200);
    // The grace replay: the retired token answers the chain's head.
    expect((await service.request('POST', '/auth/refresh', { body: { refresh_token: session.refresh_token } })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: jwt })).status).toBe(200);

    const created = await service.request('POST', '/auth/api-keys', { headers: jwt, body: { name: 'ci' } });
    expect(created.status).toBe(201);
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': created.body.key } })).status).toBe(200);
    expect((await service.request('GET', '/users/me', { headers: { authorization: `Bearer ${created.body.key}` } })).status).toBe(200);
    expect((await service.request('DELETE', `/auth/api-keys/${created.body.id}`, { headers: jwt })).status).toBe(204);

    expect((await service.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    // Mail 1 was the notice of the new API key.
    const resetMail = await nextMailTo(smtp, email, 2);
    const token = new URL(linkStartingWith(resetMail, 'http')).searchParams.get('token');
    expect((await service.request('POST', '/auth/reset-password', { body: { token, password: 'a brand new passphrase' } })).status).toBe(200);

    await service.app.get(SigningKeysService).rotate();
    const relogged = await login(service, email, 'a brand new passphrase');
    expect((await service.request('POST', '/auth/logout', { headers: { authorization: `Bearer ${relogged.session.access_token}` } })).status).toBe(204);

    expect(entered).toEqual([]);
    // The spy sees the request context's entries, so seeing none of the others means something.
    expect(enteredRequestContext).toBeGreaterThan(0);
  });
});
