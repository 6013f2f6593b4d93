import { ApiKeyCache } from '../../src/api-keys/api-key.cache';
import { hashApiKey } from '../../src/api-keys/api-key-format';
import { recordQueries } from '../support/query-recorder';
import { signedInUser, SignedInUser } from '../support/signed-in-user';
import { TestSmtpServer } from '../support/smtp';
import { startTwoInstances, TwoInstances } from '../support/two-instances';
import { startTestApp, TestApp } from '../support/test-app';
import { sleep } from '../support/wait';

/** Failed authentications are much of this file: keep the per-IP limit out of the way. */
const TEST_ENV = { RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' };
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Rolling a key, on two instances of the service sharing one database, with a real SMTP server. */
describe('rolling an API key (two real apps, one PostgreSQL, real SMTP)', () => {
  let smtp: TestSmtpServer;
  let first: TestApp;
  let second: TestApp;

  let instances: TwoInstances | undefined;

  beforeAll(async () => {
    instances = await startTwoInstances(TEST_ENV);
    ({ smtp, first, second } = instances);
  });

  afterAll(async () => {
    await instances?.close();
  });

  /** Status of GET /users/me with `key` on each instance, both headers. */
  async function statuses(key: string): Promise<number[]> {
    const answers: number[] = [];
    for (const instance of [first, second]) {
      for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key }] as Array<Record<string, string>>) {
        answers.push((await instance.request('GET', '/users/me', { headers })).status);
      }
    }
    return answers;
  }

  async function createKey(user: SignedInUser, body: Record<string, unknown>): Promise<{ id: string; key: string; key_prefix: string }> {
    const created = await first.request('POST', '/auth/api-keys', { headers: user.jwt, body });
    expect(created.status).toBe(201);
    return created.body;
  }

  it('gives a new key with the same name, scopes and expiry, keeps the old one working for the grace period on both instances, then stops it on both', async () => {
    const user = await signedInUser(first.app, 'roller@example.com');
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const old = await createKey(user, { name: 'CI deploys', scopes: ['read'], expires_at: expiresAt });
    // Both instances hold the old key in memory before the roll.
    expect(await statuses(old.key)).toEqual([200, 200, 200, 200]);

    // Long enough for the checks below to run inside it on a loaded machine.
    const graceSeconds = 6;
    const rolled = await second.request('POST', `/auth/api-keys/${old.id}/roll`, {
      headers: { ...user.jwt, 'user-agent': 'Roller/2.0' },
      body: { grace_period_seconds: graceSeconds },
    });
    const rolledAt = Date.now();
    expect(rolled.status).toBe(201);
    expect(rolled.body).toEqual({
      id: expect.not.stringMatching(old.id),
      key: expect.stringMatching(/^atiru_[0-9A-Za-z]{38}$/),
      key_prefix: rolled.body.key.slice(0, 10),
      name: 'CI deploys',
      scopes: ['read'],
      created_at: expect.stringMatching(ISO),
      expires_at: expiresAt,
    });
    const graceEnd = new Date(rolled.body.created_at).getTime() + graceSeconds * 1000;

    // The list shows both: the new one, and the old one with its end and its replacement.
    const list = await first.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(list.body.api_keys).toEqual([
      expect.objectContaining({ id: rolled.body.id, name: 'CI deploys', scopes: ['read'], expires_at: expiresAt, replaced_by: null }),
      expect.objectContaining({ id: old.id, name: 'CI deploys', scopes: ['read'], expires_at: new Date(graceEnd).toISOString(), replaced_by: rolled.body.id }),
    ]);

    // During the grace period both keys work everywhere; each instance knows the old key's new end.
    expect(Date.now()).toBeLessThan(graceEnd - 500);
    expect(await statuses(old.key)).toEqual([200, 200, 200, 200]);
    expect(await statuses(rolled.body.key)).toEqual([200, 200, 200, 200]);
    for (const instance of [first, second]) {
      expect(instance.app.get(ApiKeyCache).lookup(hashApiKey(old.key), Date.now())).toMatchObject({ id: old.id, expiresAt: graceEnd });
    }

    // After it, the old key is refused on both instances without a restart, and from memory; the new one works.
    await sleep(graceEnd - Date.now() + 50);
    const queries = [first, second].map((instance) => recordQueries(instance.app));
    expect(await statuses(old.key)).toEqual([401, 401, 401, 401]);
    for (const recorder of queries) {
      recorder.stop();
      expect(recorder.sql.filter((sql) => sql.includes('api_keys'))).toEqual([]);
    }
    expect(await statuses(rolled.body.key)).toEqual([200, 200, 200, 200]);
    const after = await first.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(after.body.api_keys.map((key: { id: string }) => key.id)).toEqual([rolled.body.id]);
    expect(Date.now() - rolledAt).toBeLessThan(graceSeconds * 1000 + 10_000);

    // The owner is told, with both prefixes, the old key's end and where the roll came from.
    const notice = await smtp.waitFor((mail) => mail.to.includes(user.email) && mail.subject === 'An API key was rolled on your Atiru account');
    expect(notice.text).toContain(`Your API key "CI deploys", starting with ${old.key_prefix}, was replaced by a new key starting with ${rolled.body.key_prefix}.`);
    expect(notice.text).toContain(`The old key keeps working until ${new Date(graceEnd).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')}, then stops`);
    expect(notice.text).toContain('Browser or app: Roller/2.0');
  });

  it('with a grace period of 0, revokes the old key at once on both instances', async () => {
    const user = await signedInUser(first.app, 'instant@example.com');
    const old = await createKey(user, {});
    expect(await statuses(old.key)).toEqual([200, 200, 200, 200]);

    const rolled = await first.request('POST', `/auth/api-keys/${old.id}/roll`, { headers: user.jwt, body: { grace_period_seconds: 0 } });
    expect(rolled.status).toBe(201);
    expect(rolled.body).toMatchObject({ name: null, scopes: null, expires_at: null });
    // The very next requests, on both instances.
    expect(await statuses(old.key)).toEqual([401, 401, 401, 401]);
    expect(await statuses(rolled.body.key)).toEqual([200, 200, 200, 200]);
    const list = await second.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(list.body.api_keys.map((key: { id: string }) => key.id)).toEqual([rolled.body.id]);

    const notice = await smtp.waitFor((mail) => mail.to.includes(user.email) && mail.subject === 'An API key was rolled on your Atiru account');
    expect(notice.text).toContain('The old key stopped working at once.');
  });

  it('defaults the grace period to a day, with no body at all', async () => {
    const user = await signedInUser(first.app, 'default-grace@example.com');
    const old = await createKey(user, { name: 'nightly' });
    const rolled = await first.request('POST', `/auth/api-keys/${old.id}/roll`, { headers: user.jwt });
    expect(rolled.status).toBe(201);
    const list = await first.request('GET', '/auth/api-keys', { headers: user.jwt });
    const oldEntry = list.body.api_keys.find((key: { id: string }) => key.id === old.id);
    expect(new Date(oldEntry.expires_at).getTime()).toBe(new Date(rolled.body.created_at).getTime() + 86_400_000);
    expect(await statuses(old.key)).toEqual([200, 200, 200, 200]);
  });

  it('refuses a second roll of a rolled key, a key of another user, a bad grace period, and an API key as the caller', async () => {
    const user = await signedInUser(first.app, 'twice@example.com');
    const other = await signedInUser(first.app, 'other@example.com');
    const old = await createKey(user, {});
    const rolled = await first.request('POST', `/auth/api-keys/${old.id}/roll`, { headers: user.jwt, body: { grace_period_seconds: 60 } });
    expect(rolled.status).toBe(201);

    const again = await first.request('POST', `/auth/api-keys/${old.id}/roll`, { headers: user.jwt, body: {} });
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    const stolen = await first.request('POST', `/auth/api-keys/${rolled.body.id}/roll`, { headers: other.jwt, body: {} });
    expect({ status: stolen.status, code: stolen.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    for (const grace of [-1, 604_801, 1.5, '60']) {
      const response = await first.request('POST', `/auth/api-keys/${rolled.body.id}/roll`, { headers: user.jwt, body: { grace_period_seconds: grace } });
      expect({ grace, status: response.status, field: response.body.errors?.[0]?.field }).toEqual({ grace, status: 400, field: 'grace_period_seconds' });
    }
    const byKey = await first.request('POST', `/auth/api-keys/${rolled.body.id}/roll`, { headers: { 'x-api-key': rolled.body.key }, body: {} });
    expect({ status: byKey.status, code: byKey.body.code }).toEqual({ status: 403, code: 'JWT_REQUIRED' });
    // None of the refusals rolled anything: the user still has the new key and the old one in its grace period.
    const list = await first.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(list.body.api_keys.map((key: { id: string }) => key.id)).toEqual([rolled.body.id, old.id]);
  });
});

describe('rolling API keys in a chain', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { ...TEST_ENV, API_KEY_MAX_ACTIVE_PER_USER: '2' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('holds the keys in their grace period to the cap on active keys, so rolling each new key in turn cannot hold any number of working keys', async () => {
    const user = await signedInUser(service.app, 'chain-roller@example.com');
    let current = (await service.request('POST', '/auth/api-keys', { headers: user.jwt, body: { name: 'chained' } })).body;
    const roll = (id: string, grace: number) => service.request('POST', `/auth/api-keys/${id}/roll`, { headers: user.jwt, body: { grace_period_seconds: grace } });
    for (let i = 0; i < 2; i++) {
      const rolled = await roll(current.id, 3600);
      expect(rolled.status).toBe(201);
      current = rolled.body;
    }
    const refused = await roll(current.id, 3600);
    expect([refused.status, refused.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(refused.body.error).toMatch(/grace period/);
    // Two in grace and the newest: no more working keys than that.
    const listed = await service.request('GET', '/auth/api-keys', { headers: user.jwt });
    expect(listed.body.api_keys).toHaveLength(3);
    // A roll that ends the old key at once adds none, and is taken.
    expect((await roll(current.id, 0)).status).toBe(201);
    expect((await service.request('GET', '/auth/api-keys', { headers: user.jwt })).body.api_keys).toHaveLength(3);
  });
});
