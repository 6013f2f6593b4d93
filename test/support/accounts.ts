import { EntityManager } from '@mikro-orm/postgresql';
import { TestSmtpServer } from './smtp';
import { TestApp, TestResponse } from './test-app';
import { waitUntil } from './wait';

/** Runs SQL against the service's own database (assertions and fixtures, never the code under test). */
export function sql<T = Record<string, any>>(service: TestApp, query: string, params: unknown[] = []): Promise<T[]> {
  return service.app.get(EntityManager).fork().getConnection().execute<T[]>(query, params);
}

/** Whether some statement on the app's database waits for a lock: a request held where a test wanted it. */
export async function someoneWaitsOnALock(service: TestApp, table?: string): Promise<boolean> {
  // Sessions of this service's own database: suites that run beside it share the server. (A wait
  // for a row names no database, only the transaction it waits for.)
  const [row] = await sql<{ n: number }>(
    service,
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE NOT l.granted AND a.datname = current_database() ${table ? 'AND l.relation = ?::regclass' : ''}`,
    table ? [table] : [],
  );
  return row.n > 0;
}

let counter = 0;

/** A fresh, unique address for one test. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${Date.now().toString(36)}-${counter}@example.com`;
}

/**
 * An account whose email is confirmed, for tests about sessions rather than confirmation:
 * registers through the API, waits until the worker has decided the registration (so the one mail
 * it sends is its confirmation link, as for a person), and then does in the database what a click
 * on that link does (`CONFIRM_REGISTRATION`).
 */
export async function createConfirmedUser(service: TestApp, email: string, password: string): Promise<string> {
  const response = await service.request('POST', '/auth/register', { body: { email, password } });
  if (response.status !== 201) throw new Error(`register answered ${response.status}: ${response.text}`);
  const id = response.body.user.id as string;
  await waitUntil(
    async () => (await sql<{ decided: boolean }>(service, 'SELECT processed_at IS NOT NULL AS decided FROM registrations WHERE id = ?', [id]))[0]?.decided,
    `the registration of ${email} to be decided`,
  );
  const [row] = await sql<{ id: string }>(service, CONFIRM_REGISTRATION, [id]);
  return row.id;
}

/**
 * Makes the registration `?` a confirmed user, as its link does: the registration becomes the
 * user, and the address's registrations go (a registration left behind would still answer a login
 * with its password). See `createConfirmedUser`.
 */
export const CONFIRM_REGISTRATION = `WITH confirmed AS (
    INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at)
    SELECT id, email, password_hash, now(), created_at FROM registrations WHERE id = ? RETURNING id, email),
  discarded AS (DELETE FROM registrations WHERE email IN (SELECT email FROM confirmed))
  SELECT id FROM confirmed`;

/** What a person's click on the newest registration's mailed link does, for a test that cannot read the mail. */
export async function confirmNewestRegistration(service: TestApp, email: string): Promise<void> {
  const [newest] = await sql<{ id: string }>(service, 'SELECT id FROM registrations WHERE email = ? ORDER BY created_at DESC LIMIT 1', [email]);
  if (newest) await sql(service, CONFIRM_REGISTRATION, [newest.id]);
}

export async function login(service: TestApp, email: string, password: string, headers: Record<string, string> = {}) {
  const response = await service.request('POST', '/auth/login', { body: { email, password }, headers });
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${response.text}`);
  return response.body as { user: Record<string, string>; session: { access_token: string; refresh_token: string; expires_in: number; expires_at: number; token_type: string } };
}

/** The path and query of a link from a mail, to request against the running service (whose port PUBLIC_URL does not know). */
export function pathOf(link: string): string {
  const url = new URL(link);
  return url.pathname + url.search;
}

/**
 * What a person does with a confirmation link: opens it, which shows a page and changes nothing,
 * then presses the page's button, which posts the page's form. Answers the button's response (a
 * 303 to the landing page); throws when the link does not show the page.
 */
export async function clickConfirmationLink(service: TestApp, link: string, headers: Record<string, string> = {}): Promise<TestResponse> {
  const page = await service.request('GET', pathOf(link), { headers });
  if (page.status !== 200) throw new Error(`the confirmation link answered ${page.status} (to ${page.headers.get('location')}), not its page`);
  const form = formOf(page.text);
  const action = new URL(form.action, new URL(pathOf(link), service.baseUrl));
  return service.request('POST', action.pathname + action.search, {
    raw: new URLSearchParams(form.fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** A page's one POST form: its action and its hidden fields, as a browser would submit them. */
export function formOf(html: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form method="post" action="([^"]*)">([^]*?)<\/form>/g)];
  if (forms.length !== 1) throw new Error(`expected one POST form, found ${forms.length} in: ${html}`);
  const fields = Object.fromEntries([...forms[0][2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1], unescapeHtml(match[2])]));
  return { action: unescapeHtml(forms[0][1]), fields };
}

function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_entity, code: string) => String.fromCharCode(Number(code)));
}

/** Waits for the newest mail to `to` with a subject matching `subject`, after `already` mails to them. */
export async function nextMailTo(smtp: TestSmtpServer, to: string, already: number) {
  await smtp.waitFor(() => smtp.mailsTo(to).length > already);
  return smtp.mailsTo(to)[already];
}

export function linkStartingWith(mail: { links: string[]; text: string }, prefix: string): string {
  const link = mail.links.find((candidate) => candidate.startsWith(prefix));
  if (!link) throw new Error(`no link starting with ${prefix} in: ${mail.text}`);
  return link;
}

/** Limits no test of flows reaches; the limits themselves are tested on their own. */
export const GENEROUS_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_LOGIN_IP: '100000/60',
  RATE_LIMIT_LOGIN_IP_EMAIL: '100000/60',
  RATE_LIMIT_MAIL_IP: '100000/60',
  RATE_LIMIT_MAIL_IP_EMAIL: '100000/60',
  RATE_LIMIT_MAIL_EMAIL: '100000/60',
  RATE_LIMIT_REFRESH_IP: '100000/60',
  RATE_LIMIT_RESET_IP: '100000/60',
  RATE_LIMIT_RESET_TOKEN: '100000/60',
  RATE_LIMIT_CONFIRM_IP: '100000/60',
  RATE_LIMIT_CONFIRM_TOKEN: '100000/60',
};
