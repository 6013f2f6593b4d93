import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../../src/api-keys/api-key-format';
import { LEAK_REPORT_BODY_LIMIT_BYTES } from '../../src/api-keys/leaks/leak-reports.controller';
import { RetentionWorker } from '../../src/database/retention.worker';
import { sql } from '../support/accounts';
import { TestSecretScanner } from '../support/secret-scanner';
import { SignedInUser, signedInUser } from '../support/signed-in-user';
import { TestSmtpServer } from '../support/smtp';
import { startTestApp, TestApp } from '../support/test-app';
import { startTwoInstances, TwoInstances } from '../support/two-instances';
import { sleep } from '../support/wait';

const LEAK_SUBJECT = 'Your Atiru API key was found in public and has been revoked';
/** Not JSON: a report whose body were parsed before its headers were checked would be answered its 400. */
const NOT_JSON = '[{"token": "atiru_';
const FOUND_AT = 'https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/deploy.sh';

/** Two instances on one database, GitHub's keys in a file both read, a real SMTP server. */
describe('leak reports from GitHub secret scanning (real apps, real PostgreSQL, real SMTP)', () => {
  const github = new TestSecretScanner();
  const retired = new TestSecretScanner();
  const impostor = new TestSecretScanner();
  let folder: string;
  let keysFile: string;
  let instances: TwoInstances | undefined;
  let smtp: TestSmtpServer;
  let first: TestApp;
  let second: TestApp;
  let ada: SignedInUser;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'atiru-leaks-'));
    keysFile = join(folder, 'secret_scanning.json');
    writeFileSync(keysFile, TestSecretScanner.keysDocument(github, retired));
    instances = await startTwoInstances({ GITHUB_SECRET_SCANNING_KEYS: keysFile, RATE_LIMIT_AUTH_FAILURE_IP: '100000/60' });
    ({ smtp, first, second } = instances);
    ada = await signedInUser(first.app, 'ada@example.com');
  });

  afterAll(async () => {
    await instances?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  async function newKey(): Promise<{ id: string; key: string }> {
    const response = await first.request('POST', '/auth/api-keys', { headers: ada.jwt, body: { name: 'CI deploys' } });
    expect(response.status).toBe(201);
    return response.body;
  }

  const report = (service: TestApp, payload: string, headers: Record<string, string>) => service.request('POST', '/auth/api-keys/leaks', { raw: payload, headers });
  const statusWith = async (service: TestApp, key: string) => (await service.request('GET', '/users/me', { headers: { authorization: `Bearer ${key}` } })).status;
  const revokedAt = async (id: string) => (await sql<{ revoked_at: Date | null }>(first, 'SELECT revoked_at FROM api_keys WHERE id = ?', [id]))[0].revoked_at;
  const leakMails = () => smtp.mailsTo(ada.email).filter((mail) => mail.subject === LEAK_SUBJECT);

  it('changes nothing for a report without a valid signature', async () => {
    const { id, key } = await newKey();
    const payload = JSON.stringify([{ token: key, type: 'atiru_api_key', url: FOUND_AT, source: 'content' }]);
    const signed = github.sign(payload);
    const attempts = [
      // Signed by someone else, under GitHub's identifier.
      { ...impostor.sign(payload), 'github-public-key-identifier': github.keyIdentifier },
      // An identifier nobody configured.
      impostor.sign(payload),
      // GitHub's signature of another body.
      { ...signed, 'github-public-key-signature': github.sign(payload.replace('content', 'commit'))['github-public-key-signature'] },
      // Garbage for a signature.
      { ...signed, 'github-public-key-signature': 'bm90IGEgc2lnbmF0dXJl' },
    ];
    for (const headers of attempts) {
      const response = await report(first, payload, headers);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
    }
    const { 'github-public-key-signature': _, ...unsigned } = signed;
    const missing = await report(first, payload, unsigned);
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 401, code: 'MISSING_AUTH' });

    expect(await revokedAt(id)).toBeNull();
    expect([await statusWith(first, key), await statusWith(second, key)]).toEqual([200, 200]);
    await sleep(300);
    expect(leakMails()).toEqual([]);
  });

  it('revokes a reported key on every instance at once, labels each token, and mails the owner where it was found', async () => {
    const { id, key } = await newKey();
    // The other instance holds the key in memory: only the revocation broadcast can stop it there.
    expect(await statusWith(second, key)).toBe(200);
    const unknown = generateApiKey().key;
    const matches = [
      { token: key, type: 'atiru_api_key', url: FOUND_AT, source: 'content' },
      { token: unknown, type: 'atiru_api_key', url: '', source: 'commit' },
      { token: 'atiru_notEvenAKey', type: 'atiru_api_key', url: 'https://gist.github.com/octocat/1', source: 'gist_content' },
      { token: key, type: 'atiru_api_key', url: 'https://github.com/octocat/Hello-World/issues/1', source: 'issue_comment' },
    ];
    // Spacing and key order of GitHub's own: the signature covers the bytes as sent, not a re-serialisation.
    const payload = `[\n  ${matches.map((match) => JSON.stringify({ source: match.source, url: match.url, type: match.type, token: match.token }, null, 1)).join(',\n  ')}\n]`;

    const response = await report(first, payload, github.sign(payload));
    expect(response.status).toBe(200);
    expect(response.body).toEqual([
      { token_raw: key, token_type: 'atiru_api_key', label: 'true_positive' },
      { token_raw: unknown, token_type: 'atiru_api_key', label: 'false_positive' },
      { token_raw: 'atiru_notEvenAKey', token_type: 'atiru_api_key', label: 'false_positive' },
      { token_raw: key, token_type: 'atiru_api_key', label: 'true_positive' },
    ]);
    expect(await revokedAt(id)).not.toBeNull();
    expect([await statusWith(second, key), await statusWith(first, key)]).toEqual([401, 401]);

    const mail = await smtp.waitFor((received) => received.subject === LEAK_SUBJECT && received.to.includes(ada.email));
    expect(mail.text).toContain(`${FOUND_AT} (content)`);
    expect(mail.text).toContain('https://github.com/octocat/Hello-World/issues/1 (issue_comment)');
    expect(mail.text).toContain(key.slice(0, 10));
    expect(mail.text).not.toContain(key);

    // Reported again (found elsewhere): still ours, nothing more to revoke, no second mail.
    const again = JSON.stringify([{ token: key, type: 'atiru_api_key', url: 'https://github.com/octocat/fork/blob/main/deploy.sh', source: 'content' }]);
    expect((await report(second, again, github.sign(again))).body).toEqual([{ token_raw: key, token_type: 'atiru_api_key', label: 'true_positive' }]);
    await sleep(300);
    expect(leakMails()).toHaveLength(1);
  });

  it('labels a key ours after it was deleted, past its retention or with its owner, and a made-up key with a valid checksum still not', async () => {
    const { id: retiredId, key: retiredKey } = await newKey();
    await sql(first, `UPDATE api_keys SET revoked_at = now() - ? * interval '1 day' WHERE id = ?`, [first.config.retention.apiKeyDays + 1, retiredId]);
    expect((await first.app.get(RetentionWorker).purge())['ended API keys']).toBe(1);
    // An operator deletes an account in SQL: its keys go with it (ON DELETE CASCADE), working ones too.
    const grace = await signedInUser(first.app, 'grace@example.com');
    const { key: orphanKey } = (await first.request('POST', '/auth/api-keys', { headers: grace.jwt, body: { name: 'build bot' } })).body;
    await sql(first, 'DELETE FROM users WHERE id = ?', [grace.id]);
    const hashes = [retiredKey, orphanKey].map((key) => createHash('sha256').update(key).digest('hex'));
    const where = async (table: string) => (await sql<{ kept: number }>(first, `SELECT count(*)::int AS kept FROM ${table} WHERE encode(key_hash, 'hex') IN (?, ?)`, hashes))[0].kept;
    expect({ keys: await where('api_keys'), hashes: await where('deleted_api_key_hashes') }).toEqual({ keys: 0, hashes: 2 });
    // Well formed, checksum and all, but never issued.
    const madeUp = generateApiKey().key;

    const matches = [retiredKey, orphanKey, madeUp].map((token) => ({ token, type: 'atiru_api_key', url: FOUND_AT, source: 'content' }));
    const payload = JSON.stringify(matches);
    const mailedBefore = leakMails().length;
    const response = await report(second, payload, github.sign(payload));
    expect({ status: response.status, labels: response.body.map((label: { label: string }) => label.label) }).toEqual({
      status: 200,
      labels: ['true_positive', 'true_positive', 'false_positive'],
    });
    expect([await statusWith(first, retiredKey), await statusWith(second, orphanKey)]).toEqual([401, 401]);
    // Nothing left to revoke, and no owner to tell.
    await sleep(300);
    expect({ ada: leakMails().length, grace: smtp.mailsTo(grace.email).filter((mail) => mail.subject === LEAK_SUBJECT) }).toEqual({ ada: mailedBefore, grace: [] });
  });

  it('accepts reports signed with any listed key, and follows the file as keys are added and retired, without a restart', async () => {
    const empty = JSON.stringify([]);
    // Not the current key, but listed: reports it signed may still be on their way.
    expect((await report(first, empty, retired.sign(empty))).body).toEqual([]);
    const { key } = await newKey();
    const payload = JSON.stringify([{ token: key, type: 'atiru_api_key', url: FOUND_AT, source: 'npm' }]);
    const rotated = new TestSecretScanner();
    expect((await report(first, payload, rotated.sign(payload))).status).toBe(401);
    writeFileSync(keysFile, TestSecretScanner.keysDocument(rotated, github));
    // The file is read again for an unknown identifier at most every 10 s; the failed report above just did.
    await sleep(10_100);
    const response = await report(first, payload, rotated.sign(payload));
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: [{ token_raw: key, token_type: 'atiru_api_key', label: 'true_positive' }] });
    // The key the new file no longer lists is refused.
    expect((await report(first, empty, retired.sign(empty))).status).toBe(401);
  }, 30_000);

  it('takes a report with many matches, beyond the body limit of other operations', async () => {
    const matches = Array.from({ length: 400 }, (_, index) => ({ token: generateApiKey().key, type: 'atiru_api_key', url: `${FOUND_AT}#L${index}`, source: 'content' }));
    const payload = JSON.stringify(matches);
    expect(payload.length).toBeGreaterThan(4 * first.config.http.bodyLimitBytes);
    const response = await report(first, payload, github.sign(payload));
    expect({ status: response.status, labels: new Set(response.body.map((label: { label: string }) => label.label)), count: response.body.length }).toEqual({
      status: 200,
      labels: new Set(['false_positive']),
      count: 400,
    });
    const oversized = JSON.stringify([{ token: 'atiru_x', type: 'atiru_api_key', url: 'x'.repeat(LEAK_REPORT_BODY_LIMIT_BYTES), source: 'content' }]);
    const refused = await report(first, oversized, github.sign(oversized));
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers 400 to a signed report that is not a list of matches', async () => {
    // The last one is JSON, but refused as every other body is that would set a prototype.
    for (const payload of ['{"token":"atiru_x"}', '[{"token":42,"type":"atiru_api_key","url":""}]', NOT_JSON, '[{"__proto__":{"token":"atiru_x"}}]']) {
      const response = await report(first, payload, github.sign(payload));
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 400, code: 'INVALID_REQUEST' });
    }
  });

  it('refuses a report without both signature headers, or naming a key nobody configured, before reading its body', async () => {
    const { 'github-public-key-signature': _, ...unsigned } = github.sign(NOT_JSON);
    const missing = await report(first, NOT_JSON, unsigned);
    expect(missing.body).toEqual({
      error: 'A leak report must carry the Github-Public-Key-Identifier and Github-Public-Key-Signature headers',
      statusCode: 401,
      code: 'MISSING_AUTH',
      request_id: missing.headers.get('x-request-id'),
    });

    const unknown = await report(second, NOT_JSON, impostor.sign(NOT_JSON));
    expect(unknown.body).toEqual({
      error: 'Invalid signature: unknown Github-Public-Key-Identifier',
      statusCode: 401,
      code: 'INVALID_OR_EXPIRED_TOKEN',
      request_id: unknown.headers.get('x-request-id'),
    });
    // Logged as before, in the request's context. Nest's Logger writes to the instance started last.
    expect(second.logs.entries()).toContainEqual(
      expect.objectContaining({ msg: 'refused a leak report: its signature does not verify', request_id: unknown.body.request_id, reason: 'unknown-key', key_identifier: impostor.keyIdentifier }),
    );

    // A known key: only the body can tell whether the signature holds, so it is read, and this one is not JSON.
    const signed = await report(first, NOT_JSON, github.sign(NOT_JSON));
    expect({ status: signed.status, code: signed.body.code }).toEqual({ status: 400, code: 'INVALID_REQUEST' });
  });

  /** An instance of its own that blocks a client after two failed authentications, so that the block stays out of the other tests. */
  const startStrictInstance = () =>
    startTestApp({ database: instances!.database, env: { GITHUB_SECRET_SCANNING_KEYS: TestSecretScanner.keysDocument(github), RATE_LIMIT_AUTH_FAILURE_IP: '2/60' } });

  it('counts a report refused before its body is read for naming a key no one has as a failed authentication of the client; one without the headers, which any web page can send, counts nothing', async () => {
    const strict = await startStrictInstance();
    try {
      const { 'github-public-key-identifier': _, ...unnamed } = github.sign(NOT_JSON);
      const refusals = [
        await report(strict, NOT_JSON, unnamed),
        await report(strict, NOT_JSON, unnamed),
        await report(strict, NOT_JSON, unnamed),
        await report(strict, NOT_JSON, impostor.sign(NOT_JSON)),
        await report(strict, NOT_JSON, impostor.sign(NOT_JSON)),
        await report(strict, NOT_JSON, impostor.sign(NOT_JSON)),
        await report(strict, NOT_JSON, unnamed),
      ];
      expect(refusals.map((response) => [response.status, response.body.code])).toEqual([
        [401, 'MISSING_AUTH'],
        [401, 'MISSING_AUTH'],
        [401, 'MISSING_AUTH'],
        [401, 'INVALID_OR_EXPIRED_TOKEN'],
        [401, 'INVALID_OR_EXPIRED_TOKEN'],
        [429, 'RATE_LIMITED'],
        [401, 'MISSING_AUTH'],
      ]);
    } finally {
      await strict.close();
    }
  });

  it('checks the signature before parsing the body: a body that is not JSON is a 401 under a signature that does not hold, counted, and a 400 under one that does', async () => {
    const strict = await startStrictInstance();
    try {
      const signed = await report(strict, NOT_JSON, github.sign(NOT_JSON));
      expect({ status: signed.status, code: signed.body.code }).toEqual({ status: 400, code: 'INVALID_REQUEST' });

      // GitHub publishes its key identifiers: anyone can name one and sign with another key.
      const forged = { ...impostor.sign(NOT_JSON), 'github-public-key-identifier': github.keyIdentifier };
      const refusals = [await report(strict, NOT_JSON, forged), await report(strict, NOT_JSON, forged), await report(strict, NOT_JSON, forged)];
      expect(refusals.map((response) => [response.status, response.body.code])).toEqual([
        [401, 'INVALID_OR_EXPIRED_TOKEN'],
        [401, 'INVALID_OR_EXPIRED_TOKEN'],
        [429, 'RATE_LIMITED'],
      ]);
      expect(refusals[0].body).toEqual({ error: 'Invalid signature', statusCode: 401, code: 'INVALID_OR_EXPIRED_TOKEN', request_id: refusals[0].headers.get('x-request-id') });
      expect(strict.logs.entries()).toContainEqual(
        expect.objectContaining({ msg: 'refused a leak report: its signature does not verify', request_id: refusals[0].body.request_id, reason: 'invalid', key_identifier: github.keyIdentifier }),
      );
    } finally {
      await strict.close();
    }
  });

  it("takes GitHub's signed reports from an address blocked for failed authentications, and still refuses forged ones there", async () => {
    const strict = await startStrictInstance();
    try {
      const empty = JSON.stringify([]);
      const bad = [];
      for (let attempt = 0; attempt < 3; attempt++) bad.push((await report(strict, empty, impostor.sign(empty))).status);
      expect(bad).toEqual([401, 401, 429]);

      // GitHub sends from addresses its webhooks share: anyone can get them blocked, and a leaked key must still be revoked.
      const signed = await report(strict, empty, github.sign(empty));
      expect({ status: signed.status, body: signed.body }).toEqual({ status: 200, body: [] });

      for (const headers of [{ ...impostor.sign(NOT_JSON), 'github-public-key-identifier': github.keyIdentifier }, impostor.sign(NOT_JSON)]) {
        const forged = await report(strict, NOT_JSON, headers);
        expect({ status: forged.status, code: forged.body.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
        expect(Number(forged.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    } finally {
      await strict.close();
    }
  });
});
