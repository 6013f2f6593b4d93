import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { assertChromiumInstalled, CHROMIUM, CHROMIUM_FLAGS } from './chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * A headless Chromium with a fresh profile, so nothing persists from one run to the next.
 * `hostsOnLoopback` are host names it resolves to 127.0.0.1, to open the service by a name that is
 * not `localhost`, as over a network (a browser treats `localhost` as a secure origin, other names not).
 */
export async function launchBrowser(options: { hostsOnLoopback?: string[] } = {}): Promise<Browser> {
  assertChromiumInstalled();
  const profile = mkdtempSync(join(tmpdir(), 'atiru-chromium-'));
  const hostRules = (options.hostsOnLoopback ?? []).map((host) => `MAP ${host} 127.0.0.1`);
  const args = hostRules.length > 0 ? [...CHROMIUM_FLAGS, `--host-resolver-rules=${hostRules.join(',')}`] : CHROMIUM_FLAGS;
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args });
  const page = context.pages()[0] ?? (await context.newPage());
  // Well inside jest's 60 s, so a missing element fails with its locator rather than a bare timeout.
  page.setDefaultTimeout(15_000);
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens Swagger UI and waits until it has rendered the operations. */
export async function openDocs(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/docs`);
  await page.locator('.opblock').first().waitFor();
}

/** Opens Swagger UI with no authorization remembered from an earlier visit. */
export async function openDocsFresh(page: Page, baseUrl: string): Promise<void> {
  await openDocs(page, baseUrl);
  await page.evaluate('localStorage.clear()');
  await reloadDocs(page);
}

/** Reloads the page, as a person pressing F5 would, and waits for Swagger UI again. */
export async function reloadDocs(page: Page): Promise<void> {
  await page.reload();
  await page.locator('.opblock').first().waitFor();
}

/** The operations Swagger UI rendered, as `<tag>-<operationId>` (e.g. `service-getHealth`). */
export async function renderedOperations(page: Page): Promise<string[]> {
  const ids = await page.locator('.opblock[id^="operations-"]').evaluateAll((blocks) => blocks.map((block) => block.id));
  return ids.map((id) => id.replace(/^operations-/, ''));
}

export interface AuthScheme {
  name: string;
  /** What the dialog says about it, e.g. `http, Bearer` or `apiKey`, with the header name. */
  text: string;
  authorized: boolean;
}

/** Opens the Authorize dialog, reads what it offers, and closes it again. */
export async function authSchemes(page: Page): Promise<AuthScheme[]> {
  const dialog = await openAuthorizeDialog(page);
  const containers = await dialog.locator('.auth-container').all();
  const schemes: AuthScheme[] = [];
  for (const container of containers) {
    schemes.push({
      name: (await container.locator('h4 code').first().textContent())?.trim() ?? '',
      text: (await container.innerText()).replace(/\s+/g, ' ').trim(),
      authorized: (await logoutButton(container).count()) > 0,
    });
  }
  await closeAuthorizeDialog(page);
  return schemes;
}

/** Types a credential into one scheme of the Authorize dialog and applies it, as a person would. */
export async function authorize(page: Page, scheme: string, value: string): Promise<void> {
  const dialog = await openAuthorizeDialog(page);
  const container = schemeContainer(dialog, scheme);
  await container.locator('input').first().fill(value);
  await container.locator('button[type="submit"]', { hasText: 'Authorize' }).click();
  await logoutButton(container).waitFor();
  await closeAuthorizeDialog(page);
}

export interface TryItOut {
  /** Parameter values by name (path, query or header parameters). */
  params?: Record<string, string>;
  /** The JSON request body, as Swagger UI's editor takes it. */
  body?: unknown;
}

/**
 * Expands an operation, presses "Try it out", fills what is given, presses "Execute" and returns
 * the status code Swagger UI shows for the live response.
 */
export async function tryItOut(page: Page, tag: string, operationId: string, input: TryItOut = {}): Promise<number> {
  const operation = operationBlock(page, tag, operationId);
  if (!(await operation.evaluate((block) => block.classList.contains('is-open')))) {
    await operation.locator('.opblock-summary').first().click();
  }
  const tryOut = operation.locator('button.try-out__btn');
  if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click();
  for (const [name, value] of Object.entries(input.params ?? {})) {
    const field = operation.locator(`tr[data-param-name="${name}"]`).locator('input, select').first();
    if ((await field.evaluate((element) => element.tagName)) === 'SELECT') await field.selectOption(value);
    else await field.fill(value);
  }
  if (input.body !== undefined) await operation.locator('textarea.body-param__text').fill(JSON.stringify(input.body, null, 2));
  // Swagger UI keeps showing the previous response until the new one arrives: clear it first, so
  // that the status read below can only be this execution's.
  const previous = operation.locator('.live-responses-table');
  if ((await previous.count()) > 0) {
    await operation.locator('button.btn-clear').click();
    await previous.waitFor({ state: 'detached' });
  }
  await operation.locator('button.execute').click();
  return responseCode(page, tag, operationId);
}

/** The status code of the live response Swagger UI shows for an operation after "Execute". */
export async function responseCode(page: Page, tag: string, operationId: string): Promise<number> {
  const status = operationBlock(page, tag, operationId).locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor();
  return Number((await status.innerText()).trim().split(/\s/)[0]);
}

/** The body of the live response Swagger UI shows for an operation, parsed. */
export async function responseBody(page: Page, tag: string, operationId: string): Promise<unknown> {
  const body = operationBlock(page, tag, operationId).locator('.live-responses-table tr.response .response-col_description pre.microlight').first();
  return JSON.parse(await body.innerText());
}

/** The request Swagger UI sent for an operation, as the curl command it shows (headers included). */
export async function requestSent(page: Page, tag: string, operationId: string): Promise<string> {
  const curl = operationBlock(page, tag, operationId).locator('.curl-command pre.curl').first();
  return (await curl.innerText()).replace(/\s*\\\n\s*/g, ' ').replace(/\s+/g, ' ').trim();
}

function operationBlock(page: Page, tag: string, operationId: string): Locator {
  return page.locator(`#operations-${tag}-${operationId}`);
}

async function openAuthorizeDialog(page: Page): Promise<Locator> {
  await page.locator('.auth-wrapper button.authorize').click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  await dialog.waitFor();
  return dialog;
}

async function closeAuthorizeDialog(page: Page): Promise<void> {
  await page.locator('.dialog-ux .modal-ux button.close-modal').click();
  await page.locator('.dialog-ux .modal-ux').waitFor({ state: 'detached' });
}

function logoutButton(container: Locator): Locator {
  return container.locator('button', { hasText: 'Logout' });
}

function schemeContainer(dialog: Locator, scheme: string): Locator {
  return dialog.locator('.auth-container').filter({ has: dialog.page().locator('h4 code', { hasText: new RegExp(`^${scheme}$`) }) });
}
