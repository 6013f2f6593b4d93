import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createConfirmedUser, GENEROUS_RATE_LIMITS, login, uniqueEmail } from '../support/accounts';
import { startTestApp, TestApp } from '../support/test-app';
import {
  authorize,
  authSchemes,
  Browser,
  launchBrowser,
  openDocsFresh,
  reloadDocs,
  renderedOperations,
  requestSent,
  responseBody,
  tryItOut,
} from '../support/swagger-ui';

/** `<tag>-<operationId>` of every operation in the committed openapi.yaml, as Swagger UI names their blocks. */
function documentedOperations(): string[] {
  const document = parse(readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8'));
  return Object.values(document.paths as Record<string, Record<string, { tags?: string[]; operationId: string }>>)
    .flatMap((item) => Object.values(item))
    .map((operation) => `${operation.tags?.[0] ?? 'default'}-${operation.operationId}`);
}

/** A host name that is not localhost: Chromium resolves it to the loopback address, as DNS would a server's name. */
const NETWORK_HOST = 'atiru-docs.test';

describe('Swagger UI at /docs over plain HTTP, by a host name that is not localhost and by localhost', () => {
  let service: TestApp;
  let browser: Browser;
  const port = () => new URL(service.baseUrl).port;

  beforeAll(async () => {
    service = await startTestApp({ env: GENEROUS_RATE_LIMITS });
    browser = await launchBrowser({ hostsOnLoopback: [NETWORK_HOST] });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it.each([NETWORK_HOST, 'localhost'])('loads, says whose it is, links the contract, and runs "Try it out" against http://%s', async (host) => {
    const { page } = browser;
    const baseUrl = `http://${host}:${port()}`;
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    await openDocsFresh(page, baseUrl);

    expect((await renderedOperations(page)).sort()).toEqual(documentedOperations().sort());
    expect(await page.title()).toBe('Atiru Auth API');
    expect(await page.locator('.info .title').innerText()).toContain('Atiru Auth');
    expect(await page.locator('.topbar').isVisible()).toBe(false);
    const links = await page.locator('.info .description a').evaluateAll((anchors) => anchors.map((anchor) => (anchor as unknown as { href: string }).href));
    expect(links).toEqual([`${baseUrl}/openapi.yaml`, `${baseUrl}/reference/openapi.json`]);
    for (const link of links) expect((await fetch(link.replace(baseUrl, service.baseUrl))).status).toBe(200);

    expect(await tryItOut(page, 'service', 'getHealth')).toBe(200);
    expect(await responseBody(page, 'service', 'getHealth')).toEqual({ status: 'ok', database: 'up' });
    expect(await requestSent(page, 'service', 'getHealth')).toBe(`curl -X 'GET' '${baseUrl}/health' -H 'accept: application/json'`);
    expect(failed).toEqual([]);
  });

  it('serves /docs with a policy that keeps plain HTTP working', async () => {
    const response = await fetch(`${service.baseUrl}/docs`);
    expect(response.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });

  it('tells the security schemes apart in the Authorize dialog: a JWT, a key either way, an introspection client', async () => {
    await openDocsFresh(browser.page, `http://${NETWORK_HOST}:${port()}`);
    const schemes = await authSchemes(browser.page);
    expect(schemes.map((scheme) => scheme.name)).toEqual(['jwt', 'bearer_api_key', 'api_key', 'introspection_client']);
    expect(schemes[0].text).toMatch(/Session access token \(JWT\).*POST \/auth\/login/);
    expect(schemes[1].text).toMatch(/API key .*Authorization: Bearer <key>/);
    expect(schemes[2].text).toMatch(/API key .*X-Api-Key: <key>/);
  });
});

describe('Swagger UI at /docs, in a real Chromium', () => {
  let service: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    service = await startTestApp({ env: GENEROUS_RATE_LIMITS });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  beforeEach(async () => {
    await openDocsFresh(browser.page, service.baseUrl);
  });

  it('renders every operation of openapi.yaml', async () => {
    expect((await renderedOperations(browser.page)).sort()).toEqual(documentedOperations().sort());
  });

  it('offers the JWT bearer scheme, both API-key schemes and the introspection client in the Authorize dialog', async () => {
    const schemes = await authSchemes(browser.page);
    expect(schemes.map((scheme) => scheme.name)).toEqual(['jwt', 'bearer_api_key', 'api_key', 'introspection_client']);
    expect(schemes[0].text).toContain('(http, Bearer)');
    expect(schemes[2].text).toMatch(/\(apiKey\).*Name: X-Api-Key.*In: header/);
    expect(schemes.some((scheme) => scheme.authorized)).toBe(false);
  });

  it('runs GET /health with "Try it out" and shows the 200 and its body', async () => {
    expect(await tryItOut(browser.page, 'service', 'getHealth')).toBe(200);
    expect(await responseBody(browser.page, 'service', 'getHealth')).toEqual({ status: 'ok', database: 'up' });
    expect(await requestSent(browser.page, 'service', 'getHealth')).toBe(`curl -X 'GET' '${service.baseUrl}/health' -H 'accept: application/json'`);
  });

  it('runs GET /users/me with a JWT from a login given to the Authorize dialog', async () => {
    const { page } = browser;
    expect(await tryItOut(page, 'users', 'getCurrentUser')).toBe(401);

    const email = uniqueEmail('swagger');
    const id = await createConfirmedUser(service, email, 'correct horse battery');
    const { session } = await login(service, email, 'correct horse battery');
    await authorize(page, 'jwt', session.access_token);
    expect(await tryItOut(page, 'users', 'getCurrentUser')).toBe(200);
    expect(await responseBody(page, 'users', 'getCurrentUser')).toMatchObject({ id, email });
    expect(await requestSent(page, 'users', 'getCurrentUser')).toContain(`-H 'Authorization: Bearer ${session.access_token}'`);

  });

  it('runs GET /users/me with an API key in the X-Api-Key scheme', async () => {
    const { page } = browser;
    const email = uniqueEmail('swagger-key');
    const id = await createConfirmedUser(service, email, 'correct horse battery');
    const { session } = await login(service, email, 'correct horse battery');
    const created = await service.request('POST', '/auth/api-keys', { body: { name: 'swagger' }, headers: { authorization: `Bearer ${session.access_token}` } });
    const key: string = created.body.key;

    await authorize(page, 'api_key', key);
    expect(await tryItOut(page, 'users', 'getCurrentUser')).toBe(200);
    expect(await responseBody(page, 'users', 'getCurrentUser')).toMatchObject({ id, email });
    expect(await requestSent(page, 'users', 'getCurrentUser')).toContain(`-H 'X-Api-Key: ${key}'`);

  });

  it('removes the authorization an earlier version of the page left in localStorage, and is not authorized by it', async () => {
    const { page } = browser;
    const email = uniqueEmail('swagger-stale');
    await createConfirmedUser(service, email, 'correct horse battery');
    const { session } = await login(service, email, 'correct horse battery');
    const created = await service.request('POST', '/auth/api-keys', { body: { name: 'stale' }, headers: { authorization: `Bearer ${session.access_token}` } });
    const key: string = created.body.key;
    // What Swagger UI's persistAuthorization wrote, under its own key, on this origin.
    const stored = { api_key: { name: 'api_key', schema: { type: 'apiKey', in: 'header', name: 'X-Api-Key' }, value: key } };
    await page.evaluate(([value]) => {
      const storage = (globalThis as unknown as { localStorage: { setItem(name: string, value: string): void } }).localStorage;
      storage.setItem('authorized', value);
      storage.setItem('unrelated', 'kept');
    }, [JSON.stringify(stored)]);

    await reloadDocs(page);
    await page.waitForFunction("localStorage.getItem('authorized') === null", undefined, { timeout: 5000 });
    expect(await page.evaluate('JSON.stringify({ ...localStorage })')).toBe(JSON.stringify({ unrelated: 'kept' }));
    expect((await authSchemes(page)).some((scheme) => scheme.authorized)).toBe(false);
    expect(await tryItOut(page, 'users', 'getCurrentUser')).toBe(401);
    // The key itself still works: the 401 is the page's, not the key's.
    expect((await service.request('GET', '/users/me', { headers: { 'x-api-key': key } })).status).toBe(200);
    await page.evaluate("localStorage.removeItem('unrelated')");
  });

  it('keeps an authorization in the page only: nothing in the origin\'s storage, and a reload forgets it', async () => {
    await authorize(browser.page, 'api_key', 'atiru_not_a_real_key');
    expect((await authSchemes(browser.page)).filter((scheme) => scheme.authorized).map((scheme) => scheme.name)).toEqual(['api_key']);
    expect(await browser.page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })')).not.toContain('atiru_not_a_real_key');
    await reloadDocs(browser.page);
    expect((await authSchemes(browser.page)).some((scheme) => scheme.authorized)).toBe(false);
    expect(await tryItOut(browser.page, 'users', 'getCurrentUser')).toBe(401);
  });
});
