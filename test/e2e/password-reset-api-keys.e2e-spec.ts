import { createConfirmedUser, GENEROUS_RATE_LIMITS, linkStartingWith, login, nextMailTo, someoneWaitsOnALock, sql, uniqueEmail } from '../support/accounts';
import { startTwoInstances, TwoInstances } from '../support/two-instances';
import { TestResponse } from '../support/test-app';
import { waitUntil } from '../support/wait';
import { ApiKeysService } from '../../src/api-keys/api-keys.service';

const PASSWORD = 'the owner password';
const RESET_PREFIX = 'http://dashboard.test/?token=';
const INVALID_KEY = { status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' };

/**
 * A password reset and the account's API keys, on two instances: keys outlive a plain reset (and
 * the notice says how many), and a reset that asks for it revokes them all, everywhere, before it
 * answers (decision 025).
 */
describe('password reset and API keys (two instances, one PostgreSQL, a real SMTP server)', () => {
  let instances: TwoInstances;

  beforeAll(async () => {
    instances = await startTwoInstances(GENEROUS_RATE_LIMITS);
  });

  afterAll(async () => {
    await instances?.close();
  });

  /** Asks for a reset link (the `index`th mail to `email`), resets with it, and answers the notice mailed after. */
  async function reset(email: string, index: number, body: Record<string, unknown>) {
    const { first, smtp } = instances;
    expect((await first.request('POST', '/auth/forgot-password', { body: { email } })).status).toBe(200);
    const token = new URL(linkStartingWith(await nextMailTo(smtp, email, index), RESET_PREFIX)).searchParams.get('token')!;
    const response = await first.request('POST', '/auth/reset-password', { body: { token, password: 'a brand new passphrase', ...body } });
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { message: 'Your password has been reset. Log in with the new password.' } });
    return nextMailTo(smtp, email, index + 1);
  }

  /** What each instance answers `key` on `/users/me`, in both headers. */
  async function statusesOf(key: string) {
    const answers = [];
    for (const instance of [instances.first, instances.second]) {
      for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }] as Array<Record<string, string>>) {
        const response = await instance.request('GET', '/users/me', { headers });
        answers.push(response.status === 200 ? { status: 200 } : { status: response.status, code: response.body.code });
      }
    }
    return answers;
  }

  it('keeps the keys through a plain reset and says how many still work; revokes them all, on every instance, with revoke_api_keys', async () => {
    const { first, smtp } = instances;
    const email = uniqueEmail('reset-keys');
    const userId = await createConfirmedUser(first, email, PASSWORD);
    await nextMailTo(smtp, email, 0);
    const jwt = { authorization: `Bearer ${(await login(first, email, PASSWORD)).session.access_token}` };
    const keys: string[] = [];
    for (const name of ['deploys', 'backups']) {
      const created = await first.request('POST', '/auth/api-keys', { headers: jwt, body: { name } });
      expect(created.status).toBe(201);
      keys.push(created.body.key);
      await nextMailTo(smtp, email, keys.length);
    }
    // Both instances hold both keys in memory, where a revocation must reach them.
    for (const key of keys) expect(await statusesOf(key)).toEqual(Array(4).fill({ status: 200 }));

    const plain = await reset(email, 3, {});
    expect(plain.subject).toBe('Your Atiru password was changed');
    expect(plain.text).toContain('2 API keys of the account still work: a password reset does not revoke keys. Review them on the API keys page and revoke any you do not recognise:');
    // DASHBOARD_URL is a dashboard of its own, which routes by itself: both links lead to it.
    expect(plain.links).toEqual(['http://dashboard.test/']);
    for (const key of keys) expect(await statusesOf(key)).toEqual(Array(4).fill({ status: 200 }));

    const revoking = await reset(email, 5, { revoke_api_keys: true });
    expect(revoking.text).toContain('As you asked, 2 API keys of the account were revoked too, and stopped working at once.');
    expect(revoking.text).not.toContain('still work');
    // The reset answered once every instance had dropped the keys: refused at once, from either.
    for (const key of keys) expect(await statusesOf(key)).toEqual(Array(4).fill(INVALID_KEY));
    expect(await sql(first, 'SELECT count(*)::int AS active FROM api_keys WHERE user_id = ? AND revoked_at IS NULL', [userId])).toEqual([{ active: 0 }]);
  });

  it('makes no key for a session that a reset with revoke_api_keys ended while the creation waited for the account', async () => {
    const { first, second, smtp } = instances;
    const email = uniqueEmail('reset-races-create');
    const userId = await createConfirmedUser(first, email, PASSWORD);
    await nextMailTo(smtp, email, 0);
    const intruder = { authorization: `Bearer ${(await login(second, email, PASSWORD)).session.access_token}` };
    // The intruder's session is known to the second instance, which admits it from memory.
    expect((await second.request('GET', '/users/me', { headers: intruder })).status).toBe(200);

    // Inside the reset's transaction, the account's row locked and its sessions revoked, not yet
    // committed: the intruder's creation passes the guard and waits for the row.
    const service = first.app.get(ApiKeysService);
    const revokeAll = service.revokeAllForUser.bind(service);
    let creation: Promise<TestResponse> | undefined;
    const spy = jest.spyOn(service, 'revokeAllForUser').mockImplementationOnce(async (em, id) => {
      creation = second.request('POST', '/auth/api-keys', { headers: intruder, body: { name: 'kept through the reset' } });
      await waitUntil(() => someoneWaitsOnALock(first), 'the creation to wait for the account');
      return revokeAll(em, id);
    });
    try {
      await reset(email, 1, { revoke_api_keys: true });
    } finally {
      spy.mockRestore();
    }
    const created = await creation!;
    expect({ status: created.status, code: created.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
    expect(await sql(first, 'SELECT count(*)::int AS active FROM api_keys WHERE user_id = ? AND revoked_at IS NULL', [userId])).toEqual([{ active: 0 }]);
  });

  it('says so when there were no keys to keep or to revoke', async () => {
    const { first, smtp } = instances;
    const email = uniqueEmail('reset-no-keys');
    await createConfirmedUser(first, email, PASSWORD);
    await nextMailTo(smtp, email, 0);
    expect((await reset(email, 1, {})).text).toContain('The account has no API keys that still work.');
    expect((await reset(email, 3, { revoke_api_keys: true })).text).toContain('You asked to revoke the API keys of the account too: it had none.');
  });

  it('refuses a revoke_api_keys that is not a boolean, and changes nothing', async () => {
    const response = await instances.first.request('POST', '/auth/reset-password', { body: { token: 'any', password: 'a brand new passphrase', revoke_api_keys: 'yes' } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_REQUEST', errors: [expect.objectContaining({ field: 'revoke_api_keys', code: 'isBoolean' })] });
  });
});
