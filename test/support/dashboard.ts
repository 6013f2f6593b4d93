import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { assertChromiumInstalled, CHROMIUM, CHROMIUM_FLAGS } from './chromium';

/** Where the browser tests leave a picture of every page (gitignored with .data/). */
export const SCREENSHOTS = join(__dirname, '..', '..', '.data', 'screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };

/** User agents of two "devices", so the sessions list can tell them apart. */
export const LAPTOP_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
export const PHONE_AGENT = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1';

export function launchChromium(): Promise<Browser> {
  assertChromiumInstalled();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/**
 * One browser "device": its own cookies and storage. It records what a reviewer of the page's
 * safety would look for: requests to any other origin, a Referer on any request, and any
 * content-security-policy violation the browser reported.
 */
export interface Device {
  context: BrowserContext;
  page: Page;
  offOrigin: string[];
  referers: string[];
  cspViolations: string[];
}

export async function openDevice(browser: Browser, baseUrl: string, userAgent = LAPTOP_AGENT): Promise<Device> {
  const context = await browser.newContext({ userAgent, viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const device: Device = { context, page, offOrigin: [], referers: [], cspViolations: [] };
  const origin = new URL(baseUrl).origin;
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin && !request.url().startsWith('data:')) device.offOrigin.push(request.url());
    const referer = request.headers()['referer'];
    if (referer) device.referers.push(`${request.url()} <- ${referer}`);
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) device.cspViolations.push(message.text());
  });
  return device;
}

let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core in the page and answers its serious and critical violations. The source is
 * evaluated through the DevTools protocol, which the page's policy does not govern; an injected
 * <script> would be refused by `script-src 'self'`, and the policy stays on for the app.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axeSource);
  const violations: AxeViolation[] = await page.evaluate(`
    window.axe.run(document, { resultTypes: ['violations'] }).then((results) =>
      results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.join(' ')),
      })),
    )`);
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/**
 * Looks at the page as it is now: axe at desktop and phone width (0 serious or critical
 * violations expected) and a full-page screenshot at each into `.data/screenshots/<name>-<width>.png`.
 * Answers the violations for the caller to assert on.
 */
export async function inspectPage(page: Page, name: string): Promise<AxeViolation[]> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const found: AxeViolation[] = [];
  const original = page.viewportSize() ?? DESKTOP;
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    found.push(...(await axeViolations(page)).map((violation) => ({ ...violation, id: `${name}@${viewport.width}: ${violation.id}` })));
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${viewport.width}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
  return found;
}

/** The path of the page's address, without origin: `/dashboard/keys`. */
export function pathOfPage(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** Signs in through the form, as a person would, and waits for the keys page. */
export async function signInOnPage(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/dashboard/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
}

/** What has the keyboard focus: its accessible name as a person would hear it, and whether its focus ring shows. */
export async function focused(page: Page): Promise<{ name: string; ring: boolean }> {
  return page.evaluate(`(() => {
    const element = document.activeElement;
    const labelled = element.labels && element.labels[0] ? element.labels[0].innerText : '';
    const name = (element.getAttribute('aria-label') || labelled || element.innerText || '').trim();
    const style = getComputedStyle(element);
    return { name, ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
  })()`);
}

/** Presses Tab until the element named `name` has the focus, as a keyboard user would; throws if it is never reached. */
export async function tabTo(page: Page, name: string, most = 30): Promise<{ name: string; ring: boolean }> {
  for (let presses = 0; presses < most; presses += 1) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (now.name === name) return now;
  }
  throw new Error(`Tab never reached "${name}" in ${most} presses`);
}
